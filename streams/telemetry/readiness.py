"""Whether a worker is ready: its loops hold partitions and keep committing.

Each loop reports to its :class:`LoopProgress`: an assignment (how many partitions it now
holds), a revocation, and every moment at which all it had consumed was committed (after
a transaction, or a poll that left nothing uncommitted, so an idle loop stays current).
:meth:`Readiness.verdict` judges them on an injected clock:

- every loop has had its group's assignment (not in the middle of a rebalance);
- the worker holds at least one partition;
- every loop that holds partitions committed all it consumed within ``max_commit_age_s``.

A loop handed no partitions at all is a standby, not a fault: the decision step's topic
has 3 partitions and the alerts topic 1, fewer than the 6 that bound the worker count, so
requiring each loop to hold some would keep most replicas unready for ever.

Examples
--------
>>> now = [0.0]
>>> r = Readiness(max_commit_age_s=30, clock=lambda: now[0])
>>> monitor = r.loop("monitor")
>>> r.verdict().reason
'monitor: no partition assignment yet'
>>> monitor.assigned(2)
>>> r.verdict()
Verdict(ready=True, reason='ready: monitor holds 2')
>>> now[0] = 31.0
>>> r.verdict()
Verdict(ready=False, reason='monitor: last commit 31s ago (limit 30s)')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoopProgress", "Readiness", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of /readyz."""

    ready: bool
    """True when the worker should receive traffic (its loops are current)."""
    reason: str
    """One line: what is held, or what is wrong."""


class LoopProgress:
    """What one loop tells readiness; the loop calls these as things happen."""

    def __init__(self, name: str, clock: Callable[[], float]) -> None:
        self.name = name
        self._clock = clock
        self.partitions: int | None = None
        """Partitions held now; None before the first assignment and during a rebalance."""
        self.committed_at: float | None = None
        """When everything the loop had consumed was last committed."""

    def assigned(self, partitions: int) -> None:
        """The group handed this loop ``partitions`` partitions (maybe 0)."""
        if partitions < 0:
            raise ValueError(f"partitions must be >= 0, got {partitions}")
        self.partitions = partitions
        self.committed_at = self._clock()  # nothing of a fresh assignment is uncommitted

    def revoked(self) -> None:
        """A rebalance took the partitions away; the next :meth:`assigned` follows."""
        self.partitions = None

    def committed(self) -> None:
        """Everything consumed so far is committed (or nothing was pending)."""
        self.committed_at = self._clock()


class Readiness:
    """The loops of one worker, judged together."""

    def __init__(self, *, max_commit_age_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not max_commit_age_s > 0:
            raise ValueError(f"max_commit_age_s must be > 0, got {max_commit_age_s!r}")
        self.max_commit_age_s = max_commit_age_s
        self._clock = clock
        self._loops: list[LoopProgress] = []

    def loop(self, name: str) -> LoopProgress:
        """Register (or return) the progress of the loop called ``name``."""
        for progress in self._loops:
            if progress.name == name:
                return progress
        progress = LoopProgress(name, self._clock)
        self._loops.append(progress)
        return progress

    def verdict(self) -> Verdict:
        """Ready or not, and why, as of the clock's now."""
        if not self._loops:
            return Verdict(True, "ready: no loops (agents only)")
        now = self._clock()
        for p in self._loops:
            if p.partitions is None:
                return Verdict(False, f"{p.name}: no partition assignment yet")
        holding = [p for p in self._loops if p.partitions]
        if not holding:
            return Verdict(False, "holds no partitions: more workers than partitions")
        for p in holding:
            age = now - (p.committed_at if p.committed_at is not None else -float("inf"))
            if age > self.max_commit_age_s:
                return Verdict(False, f"{p.name}: last commit {age:.0f}s ago "
                                      f"(limit {self.max_commit_age_s:g}s)")
        return Verdict(True, "ready: " + ", ".join(f"{p.name} holds {p.partitions}"
                                                   for p in holding))
