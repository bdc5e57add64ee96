"""Micro-batching: gather requests into model batches, flushed by size or by age.

A batch is ready when ``max_batch`` items wait, or when the oldest has waited
``max_wait_ms``, whichever comes first. The batcher does no I/O and never sleeps: the
agent asks :meth:`MicroBatcher.time_to_deadline` how long it may block on the source,
and the clock is injected, so tests drive time by hand.

Examples
--------
>>> now = [0.0]
>>> mb = MicroBatcher(max_batch=3, max_wait_ms=10.0, clock=lambda: now[0])
>>> mb.add("a", arrival=0.0); mb.add("b", arrival=0.002)
>>> mb.ready(), round(mb.time_to_deadline(), 6)
(False, 0.01)
>>> now[0] = 0.010
>>> mb.ready()
True
>>> mb.take()
[('a', 0.0), ('b', 0.002)]
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

T = TypeVar("T")


class MicroBatcher(Generic[T]):
    """A FIFO of items with arrival times that releases batches by size or age.

    Parameters
    ----------
    max_batch
        Largest batch :meth:`take` returns; a queue this long is ready at once (>= 1).
    max_wait_ms
        Longest the oldest item waits before its batch is ready, in ms (finite, >= 0).
    clock
        Clock in seconds (monotonic preferred); arrivals are read on the same clock.
    """

    def __init__(self, max_batch: int, max_wait_ms: float, clock: Callable[[], float]) -> None:
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be an integer >= 1, got {max_batch!r}")
        if not (math.isfinite(max_wait_ms) and max_wait_ms >= 0):
            raise ValueError(f"max_wait_ms must be a finite number >= 0, got {max_wait_ms!r}")
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.clock = clock
        self._wait_s = max_wait_ms / 1000.0
        self._queue: deque[tuple[T, float]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, item: T, arrival: float | None = None) -> None:
        """Queue ``item``, which arrived at ``arrival`` (default: now on the clock).

        The deadline follows the first item queued, the oldest when arrivals do not go
        back in time. A wall clock may step back (NTP); such an item is kept, and waits
        at most for the deadline of the items queued before it.
        """
        at = self.clock() if arrival is None else float(arrival)
        self._queue.append((item, at))

    def extend(self, items: Iterable[T], arrival: float | None = None) -> None:
        """Queue several items that arrived together (one poll of the source)."""
        at = self.clock() if arrival is None else float(arrival)
        for item in items:
            self.add(item, at)

    def deadline(self) -> float | None:
        """Clock time at which the oldest item's batch is due; None when empty."""
        return self._queue[0][1] + self._wait_s if self._queue else None

    def time_to_deadline(self) -> float | None:
        """Seconds until the oldest item's deadline: 0.0 if ready now, None when empty."""
        due = self.deadline()
        if due is None:
            return None
        if len(self._queue) >= self.max_batch:
            return 0.0
        return max(0.0, due - self.clock())

    def ready(self) -> bool:
        """True when a full batch waits or the oldest item has waited ``max_wait_ms``."""
        return self.time_to_deadline() == 0.0

    def take(self) -> list[tuple[T, float]]:
        """Remove and return up to ``max_batch`` oldest items with their arrivals (FIFO).

        It does not wait for :meth:`ready`; call it anyway to drain at shutdown.
        """
        n = min(self.max_batch, len(self._queue))
        return [self._queue.popleft() for _ in range(n)]
