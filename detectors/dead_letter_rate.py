"""The dead-letter rate of a source topic: the schema fault that explains everything after.

Records a stage could not decode or validate go to the dead-letter topic with their
source topic and the kind of error. Per (model, source topic, reason) this rule counts
dead letters over the last ``window_s`` seconds and divides by the records the source
topic received meanwhile (the growth of its end offsets). A share over ``max_share``
sustained for ``fire_after_s`` fires; below it for ``resolve_after_s``, the alert
resolves. The model is ``*`` when the record named none (it could not be decoded).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from detectors.base import check_range
from detectors.sustained import HealthChange, SustainedCondition, key_of, parts_of

__all__ = ["DeadLetterRate"]


class DeadLetterRate:
    """Per (model, source topic, reason), the dead-letter share of the source's records.

    Parameters
    ----------
    max_share
        Share of a source topic's records dead-lettered (for one reason) that is a fault,
        in (0, 1).
    window_s
        Seconds over which the share is measured, > 0.
    min_records
        Fewest source records in the window for a share to be judged (a window with no
        dead letters is always good), >= 1.
    fire_after_s, resolve_after_s
        How long the share must stay over (under) ``max_share`` to fire (resolve).

    Examples
    --------
    >>> rule = DeadLetterRate(max_share=0.05, window_s=10, fire_after_s=0, min_records=10)
    >>> rule.add_volume("requests", 0, now=0.0)
    >>> rule.add_volume("requests", 100, now=5.0)
    >>> rule.add_dead_letters("*", "requests", "malformed", 20, now=5.0)
    >>> [(c.status, c.parts, c.evidence["share"]) for c in rule.evaluate(now=5.0)]
    [('firing', ('*', 'requests', 'malformed'), 0.2)]
    """

    def __init__(self, max_share: float = 0.05, window_s: float = 30.0,
                 min_records: int = 50, fire_after_s: float = 10.0,
                 resolve_after_s: float = 15.0) -> None:
        check_range("max_share", max_share, 0.0, 1.0, low_open=True, high_open=True)
        check_range("window_s", window_s, 0.0, float("inf"), low_open=True)
        check_range("min_records", min_records, 1, float("inf"))
        self.max_share = max_share
        self.window_s = window_s
        self.min_records = min_records
        self.fire_after_s = fire_after_s
        self.resolve_after_s = resolve_after_s
        self.condition = SustainedCondition(fire_after_s, resolve_after_s)
        self._dead: dict[str, deque[tuple[float, int]]] = {}
        self._volume: dict[str, deque[tuple[float, int]]] = {}

    @property
    def sources(self) -> list[str]:
        """The source topics whose volume the rule needs, sorted."""
        return sorted({parts_of(k)[1] for k in (*self._dead, *self.condition.firing)})

    def add_dead_letters(self, model: str, topic: str, reason: str, count: int, *,
                         now: float) -> None:
        """Count ``count`` dead letters of ``topic`` for ``reason`` seen at ``now``."""
        self._dead.setdefault(key_of((model, topic, reason)), deque()).append((now, count))

    def add_volume(self, topic: str, end_offset: int, *, now: float) -> None:
        """The sum of ``topic``'s partitions' end offsets at ``now``."""
        self._volume.setdefault(topic, deque()).append((now, end_offset))

    def evaluate(self, *, now: float) -> list[HealthChange]:
        """Judge every watched (model, topic, reason) at ``now``; return the changes."""
        self._prune(now)
        changes = []
        for key in sorted(set(self._dead) | set(self.condition.firing)):
            parts = parts_of(key)
            records, since = self._records(parts[1])
            # only dead letters of records the volume counted: after the baseline
            dead = sum(c for t, c in self._dead.get(key, ()) if t > since)
            if dead and records < self.min_records:
                continue  # too few records to call it a rate: keep the state as it is
            share = dead / max(records, dead, 1)
            change = self.condition.observe(key, share > self.max_share, now=now)
            if change is not None:
                evidence: dict[str, float | str] = {
                    "share": round(share, 4), "dead_letters": float(dead),
                    "records": float(records), "window_s": self.window_s,
                    "max_share": self.max_share}
                changes.append(HealthChange(parts, change.status, change.starts_at,
                                            change.ends_at, evidence))
        return changes

    def _records(self, topic: str) -> tuple[int, float]:
        """Records ``topic`` received in the window, and the time they are counted from."""
        samples = self._volume.get(topic)
        if not samples:
            return 0, float("inf")
        return samples[-1][1] - samples[0][1], samples[0][0]

    def _prune(self, now: float) -> None:
        start = now - self.window_s
        for key in list(self._dead):
            d = self._dead[key]
            while d and d[0][0] <= start:
                d.popleft()
            if not d:
                del self._dead[key]
        for samples in self._volume.values():
            # keep the newest sample at or before the window's start: the baseline
            while len(samples) > 1 and samples[1][0] <= start:
                samples.popleft()

    def snapshot(self) -> dict[str, Any]:
        return {"condition": self.condition.snapshot(),
                "dead": {k: list(map(list, d)) for k, d in self._dead.items()},
                "volume": {t: list(map(list, s)) for t, s in self._volume.items()}}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.condition.restore(snapshot["condition"])
        self._dead = {k: deque((float(t), int(c)) for t, c in d)
                      for k, d in snapshot["dead"].items()}
        self._volume = {k: deque((float(t), int(c)) for t, c in s)
                        for k, s in snapshot["volume"].items()}
