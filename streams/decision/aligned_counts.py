"""Counts per arm, released only up to the time every arm's summaries have reached.

The sample-ratio test reads the arms' counts after every look and remembers its largest
Bayes factor, so a look must never see one arm ahead of the other: the champion's summary
of a second arriving before the challenger's would read as a mismatch, and summaries of
the two arms do not cover the same spans (each partition closes a summary on its own size
or interval). Each summary's count is spread over the whole seconds its window
``[start, end]`` (request times) spans, in proportion to the overlap; a second is released
to the test once every arm has a summary ending ``lag_s`` after it, so that the other
partitions' summaries of that second (each partition flushes at least every summary
interval) are in too; counts of a partition that lags further are released at the next
look.

>>> c = AlignedCounts(2, lag_s=0.0)
>>> c.add(0, 200, start=9.0, end=10.0); c.release()
[0.0, 0.0]
>>> c.add(1, 190, start=9.0, end=9.5); c.add(1, 10, start=9.5, end=10.5)
>>> c.add(0, 100, start=10.0, end=11.5)
>>> c.release()  # second 9 is complete for both arms; 10 is not (B is not past it)
[200.0, 195.0]
"""

from __future__ import annotations

import math
from typing import Any


class AlignedCounts:
    """Per-arm counts by whole second, released when every arm has passed the second."""

    def __init__(self, arms: int, lag_s: float = 2.0) -> None:
        if arms < 2:
            raise ValueError(f"arms must be >= 2, got {arms}")
        if not lag_s >= 0:
            raise ValueError(f"lag_s must be >= 0, got {lag_s}")
        self.arms = arms
        self.lag_s = lag_s
        self._reset()

    def _reset(self) -> None:
        self.pending: list[dict[int, float]] = [{} for _ in range(self.arms)]
        self.seen = [-math.inf] * self.arms
        self.released_to = -math.inf  # every second below this was released

    def add(self, arm: int, n: float, *, start: float, end: float) -> None:
        """``n`` units of ``arm`` in a summary of the requests of ``[start, end]``."""
        held = self.pending[arm]
        first, last = math.floor(start), math.floor(end)
        if end <= start or first == last:
            held[last] = held.get(last, 0.0) + n
        else:
            for second in range(first, last + 1):
                overlap = min(end, second + 1.0) - max(start, float(second))
                held[second] = held.get(second, 0.0) + n * overlap / (end - start)
        self.seen[arm] = max(self.seen[arm], end)

    def release(self) -> list[float]:
        """The counts per arm of every second all arms have passed (and of late ones)."""
        if math.isfinite(min(self.seen)):
            self.released_to = max(self.released_to,
                                   math.floor(min(self.seen) - self.lag_s))
        out = []
        for held in self.pending:
            done = [s for s in held if s < self.released_to]
            out.append(float(sum(held.pop(s) for s in done)))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"pending": [[[s, n] for s, n in sorted(p.items())] for p in self.pending],
                "seen": [s if math.isfinite(s) else None for s in self.seen],
                "released_to": self.released_to if math.isfinite(self.released_to) else None}

    def restore(self, snap: dict[str, Any]) -> None:
        if len(snap["pending"]) != self.arms:
            raise ValueError(f"snapshot has {len(snap['pending'])} arms, not {self.arms}")
        self.pending = [{int(s): float(n) for s, n in p} for p in snap["pending"]]
        self.seen = [-math.inf if s is None else float(s) for s in snap["seen"]]
        r = snap["released_to"]
        self.released_to = -math.inf if r is None else float(r)
