"""Time hysteresis: a condition pages when it has held for a while, resolves when it has
been clear for a while.

Health conditions (a dead-letter rate, a consumer's lag) are evaluated every few seconds,
not per window, so their hysteresis is in seconds: bad for ``fire_after_s`` in a row to
fire, good for ``resolve_after_s`` in a row to resolve. Each condition is keyed by what
it watches (a source topic and reason, a group and topic). The clock is the caller's
``now``; the state is plain data (:meth:`snapshot`, :meth:`restore`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from detectors.alert_rule import Transition
from detectors.base import check_range

__all__ = ["SustainedCondition"]


@dataclass
class _State:
    firing: bool = False
    bad_since: float | None = None
    good_since: float | None = None
    starts_at: float = 0.0


class SustainedCondition:
    """Fire a key after ``fire_after_s`` of bad evaluations, resolve after ``resolve_after_s``
    of good ones.

    Parameters
    ----------
    fire_after_s
        Seconds a key must be bad, evaluation after evaluation, before it fires, >= 0.
    resolve_after_s
        Seconds a firing key must be good before it resolves, >= 0.

    Examples
    --------
    >>> c = SustainedCondition(fire_after_s=10, resolve_after_s=5)
    >>> [c.observe("k", True, now=t) for t in (0, 5)]
    [None, None]
    >>> c.observe("k", True, now=10).status
    'firing'
    >>> c.observe("k", False, now=11), c.observe("k", False, now=16).status
    (None, 'resolved')
    """

    def __init__(self, fire_after_s: float = 30.0, resolve_after_s: float = 30.0) -> None:
        check_range("fire_after_s", fire_after_s, 0.0, float("inf"))
        check_range("resolve_after_s", resolve_after_s, 0.0, float("inf"))
        self.fire_after_s = fire_after_s
        self.resolve_after_s = resolve_after_s
        self._states: dict[str, _State] = {}

    @property
    def firing(self) -> list[str]:
        """The keys firing now, sorted."""
        return sorted(k for k, s in self._states.items() if s.firing)

    def starts_at(self, key: str) -> float | None:
        """When ``key``'s open alert fired (None when it is not firing)."""
        st = self._states.get(key)
        return st.starts_at if st is not None and st.firing else None

    def observe(self, key: str, bad: bool, *, now: float) -> Transition | None:
        """Take one evaluation of ``key``; return the transition it causes, if any."""
        st = self._states.setdefault(key, _State())
        if bad:
            st.good_since = None
            st.bad_since = now if st.bad_since is None else st.bad_since
            if not st.firing and now - st.bad_since >= self.fire_after_s:
                st.firing, st.starts_at = True, now
                return Transition(key, "firing", now, None, 0)
            return None
        st.bad_since = None
        st.good_since = now if st.good_since is None else st.good_since
        if st.firing and now - st.good_since >= self.resolve_after_s:
            del self._states[key]
            return Transition(key, "resolved", st.starts_at, now, 0)
        if not st.firing:  # nothing to remember of a quiet key: the state stays bounded
            del self._states[key]
        return None

    def open(self, key: str, starts_at: float) -> None:
        """Hold ``key`` as firing since ``starts_at`` (an alert found open after a restart)."""
        self._states[key] = _State(firing=True, starts_at=starts_at)

    def snapshot(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self._states.items()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._states = {k: _State(**v) for k, v in snapshot.items()}


@dataclass(frozen=True)
class HealthChange:
    """A health alert changed status: what fired (``parts``), when, and the evidence now."""

    parts: tuple[str, ...]
    status: str
    starts_at: float
    ends_at: float | None
    evidence: dict[str, float | str]


def key_of(parts: tuple[str, ...]) -> str:
    """The condition key of ``parts`` (names never hold the unit separator)."""
    return "\x1f".join(parts)


def parts_of(key: str) -> tuple[str, ...]:
    """The parts of a :func:`key_of` key."""
    return tuple(key.split("\x1f"))
