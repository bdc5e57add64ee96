"""From window verdicts to alert transitions, with hysteresis.

A condition must be bad for ``fire_after`` consecutive windows before its alert fires,
and good for ``resolve_after`` consecutive windows before it resolves, so one noisy
window neither pages nor silences anyone. State is plain data, so it can be snapshotted
with the decision step's offsets and restored after a restart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from detectors.base import check_range


@dataclass
class RuleState:
    """What the rule remembers about one alert key."""

    firing: bool = False
    bad_streak: int = 0
    good_streak: int = 0
    starts_at: float = 0.0


@dataclass(frozen=True)
class Transition:
    """An alert changed status."""

    key: str
    status: Literal["firing", "resolved"]
    starts_at: float
    ends_at: float | None
    bad_streak: int


class AlertRule:
    """Hysteresis over consecutive window verdicts, per alert key.

    >>> rule = AlertRule(fire_after=2, resolve_after=2)
    >>> [rule.observe("k", bad, now=t) for t, bad in enumerate([True, False, True, True])][-1]
    Transition(key='k', status='firing', starts_at=3, ends_at=None, bad_streak=2)
    """

    def __init__(self, fire_after: int = 2, resolve_after: int = 2) -> None:
        check_range("fire_after", fire_after, 1, float("inf"))
        check_range("resolve_after", resolve_after, 1, float("inf"))
        self.fire_after = fire_after
        self.resolve_after = resolve_after
        self._states: dict[str, RuleState] = {}

    def state(self, key: str) -> RuleState:
        return self._states.setdefault(key, RuleState())

    def observe(self, key: str, bad: bool, *, now: float) -> Transition | None:
        """Record one window's verdict; return the transition it causes, if any."""
        st = self.state(key)
        if bad:
            st.bad_streak, st.good_streak = st.bad_streak + 1, 0
            if not st.firing and st.bad_streak >= self.fire_after:
                st.firing, st.starts_at = True, now
                return Transition(key, "firing", now, None, st.bad_streak)
        else:
            st.bad_streak, st.good_streak = 0, st.good_streak + 1
            if st.firing and st.good_streak >= self.resolve_after:
                st.firing = False
                return Transition(key, "resolved", st.starts_at, now, 0)
        return None

    def snapshot(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self._states.items()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._states = {k: RuleState(**v) for k, v in snapshot.items()}
