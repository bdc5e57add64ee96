"""When to ask for a retrain: on sustained evidence, once per incident, never in a storm."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RetrainDecision:
    """A retrain to request; ``id`` derives from the evidence, so a replay repeats it."""

    id: str
    model: str
    reason: str


class RetrainPolicy:
    """Request a retrain after ``after`` consecutive drifted windows, with a cooldown.

    One request per drift incident (identified by its alert's start time), and at most
    one per model per ``cooldown_s``.

    >>> policy = RetrainPolicy(after=3, cooldown_s=600)
    >>> [policy.consider("churn", streak, incident_start=100.0, now=100.0 + streak)
    ...  for streak in (1, 2, 3, 4)][2].reason
    'input drift sustained for 3 windows'
    """

    def __init__(self, after: int = 3, cooldown_s: float = 3600.0) -> None:
        if after < 1:
            raise ValueError(f"after must be >= 1, got {after!r}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s!r}")
        self.after = after
        self.cooldown_s = cooldown_s
        self._last: dict[str, tuple[float, float]] = {}

    def consider(self, model: str, streak: int, *, incident_start: float,
                 now: float) -> RetrainDecision | None:
        """A retrain decision when the drift streak is long enough and none is recent."""
        if streak < self.after:
            return None
        last = self._last.get(model)
        if last is not None and (last[0] == incident_start or now - last[1] < self.cooldown_s):
            return None
        self._last[model] = (incident_start, now)
        digest = hashlib.sha256(f"{model}|drift|{incident_start!r}".encode()).hexdigest()[:16]
        return RetrainDecision(f"rt-{digest}", model, f"input drift sustained for {streak} windows")

    def snapshot(self) -> dict[str, Any]:
        return {m: list(v) for m, v in self._last.items()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._last = {m: (float(v[0]), float(v[1])) for m, v in snapshot.items()}
