"""Counts per arm, released only up to the time every arm's summaries have reached.

The sample-ratio test reads the arms' counts after every look and remembers its largest
Bayes factor, so a look must never see one arm ahead of the other: the champion's summary
of a second arriving before the challenger's would read as a mismatch. Summaries carry the
end of the window they cover; counts are held per arm and whole second of that end, and a
second is released to the test once every arm has a summary ending after it. A summary
of a partition that lags behind a released second is released at the next look.

>>> c = AlignedCounts(2)
>>> c.add(0, 200, end=10.4); c.release()
[0, 0]
>>> c.add(1, 190, end=10.6); c.add(0, 210, end=11.2); c.add(1, 205, end=11.3)
>>> c.release()  # second 10 is complete for both arms, second 11 not yet
[200, 190]
"""

from __future__ import annotations

import math
from typing import Any


class AlignedCounts:
    """Per-arm counts by whole second, released when every arm has passed the second."""

    def __init__(self, arms: int) -> None:
        if arms < 2:
            raise ValueError(f"arms must be >= 2, got {arms}")
        self.arms = arms
        self._reset()

    def _reset(self) -> None:
        self.pending: list[dict[int, int]] = [{} for _ in range(self.arms)]
        self.seen = [-math.inf] * self.arms
        self.released_to = -math.inf  # every second below this was released

    def add(self, arm: int, n: int, *, end: float) -> None:
        """``n`` units of ``arm`` in a summary whose window ended at ``end``."""
        second = math.floor(end)
        self.pending[arm][second] = self.pending[arm].get(second, 0) + n
        self.seen[arm] = max(self.seen[arm], end)

    def release(self) -> list[int]:
        """The counts per arm of every second all arms have passed (and of late ones)."""
        if math.isfinite(min(self.seen)):
            self.released_to = max(self.released_to, math.floor(min(self.seen)))
        out = []
        for held in self.pending:
            done = [s for s in held if s < self.released_to]
            out.append(sum(held.pop(s) for s in done))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"pending": [[[s, n] for s, n in sorted(p.items())] for p in self.pending],
                "seen": [s if math.isfinite(s) else None for s in self.seen],
                "released_to": self.released_to if math.isfinite(self.released_to) else None}

    def restore(self, snap: dict[str, Any]) -> None:
        if len(snap["pending"]) != self.arms:
            raise ValueError(f"snapshot has {len(snap['pending'])} arms, not {self.arms}")
        self.pending = [{int(s): int(n) for s, n in p} for p in snap["pending"]]
        self.seen = [-math.inf if s is None else float(s) for s in snap["seen"]]
        r = snap["released_to"]
        self.released_to = -math.inf if r is None else float(r)
