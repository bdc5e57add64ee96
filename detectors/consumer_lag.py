"""Consumer lag: a consumer group that stays far behind a topic pages.

Lag is the records a group has not yet committed on a topic (the end offsets minus its
committed offsets, summed over the partitions). Over ``max_lag`` for ``fire_after_s``
fires; under it for ``resolve_after_s`` resolves. A group no longer reported (deleted,
or its topic gone) counts as caught up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detectors.base import check_range
from detectors.sustained import HealthChange, SustainedCondition, key_of, parts_of

__all__ = ["ConsumerLag"]


class ConsumerLag:
    """Per (group, topic), whether the group's lag stays over ``max_lag``.

    Parameters
    ----------
    max_lag
        Records behind on a topic that count as lagging, >= 1.
    fire_after_s, resolve_after_s
        How long the lag must stay over (under) ``max_lag`` to fire (resolve), >= 0.

    Examples
    --------
    >>> rule = ConsumerLag(max_lag=1000, fire_after_s=60, resolve_after_s=30)
    >>> rule.evaluate({("monitor", "predictions"): 5000}, now=0.0)
    []
    >>> [(c.status, c.parts) for c in rule.evaluate({("monitor", "predictions"): 7000}, now=60.0)]
    [('firing', ('monitor', 'predictions'))]
    """

    def __init__(self, max_lag: int = 10_000, fire_after_s: float = 120.0,
                 resolve_after_s: float = 60.0) -> None:
        check_range("max_lag", max_lag, 1, float("inf"))
        self.max_lag = max_lag
        self.fire_after_s = fire_after_s
        self.resolve_after_s = resolve_after_s
        self.condition = SustainedCondition(fire_after_s, resolve_after_s)

    def evaluate(self, lags: Mapping[tuple[str, str], int], *, now: float
                 ) -> list[HealthChange]:
        """Judge each (group, topic)'s lag at ``now``; return the changes."""
        keys = {key_of(k): v for k, v in lags.items()}
        changes = []
        for key in sorted(set(keys) | set(self.condition.firing)):
            lag = keys.get(key, 0)
            change = self.condition.observe(key, lag > self.max_lag, now=now)
            if change is not None:
                changes.append(HealthChange(
                    parts_of(key), change.status, change.starts_at, change.ends_at,
                    {"lag": float(lag), "max_lag": float(self.max_lag),
                     "sustained_s": self.fire_after_s}))
        return changes

    def snapshot(self) -> dict[str, Any]:
        return {"condition": self.condition.snapshot()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.condition.restore(snapshot["condition"])
