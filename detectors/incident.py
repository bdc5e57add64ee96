"""An incident: the open (or cooling down) alerts of one model and severity, paged as one.

:class:`~detectors.incidents.IncidentTracker` opens, grows and resolves incidents;
:class:`~detectors.notification.Notification` is what on-call reads of one. An incident
and the signals it holds round-trip through plain JSON-able dicts (:meth:`Incident.to_dict`,
:func:`signal_from_dict`), so the tracker's state can be saved and restored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from detectors.alert_signal import AlertSignal, Severity

__all__ = ["Incident", "Member", "signal_from_dict", "signal_to_dict"]


@dataclass
class Incident:
    """The open (or cooling down) incident of one model and severity."""

    fingerprint: str
    model: str
    severity: Severity
    episode_at: float
    state: Literal["firing", "resolved"] = "firing"
    notified: bool = False
    hold_until: float = float("-inf")
    resolved_at: float | None = None
    opener: AlertSignal | None = None
    members: tuple[AlertSignal, ...] = ()
    #: when this episode's latest firing notification fell due (event time)
    notified_at: float = float("-inf")
    #: the members named in a notification of this episode: fingerprint -> detector
    announced: dict[str, str] = field(default_factory=dict)
    #: the new cause that headed each update of this episode, in order
    causes: tuple[AlertSignal, ...] = ()

    @property
    def dedup_key(self) -> str:
        """Stable key of this episode: the fingerprint and the opening time in ms."""
        return f"{self.fingerprint}:{round(self.episode_at * 1000)}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (its signals as :func:`signal_to_dict` writes them)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Incident:
        """The inverse of :meth:`to_dict`."""
        return cls(**{**d,
                      "opener": None if d["opener"] is None else signal_from_dict(d["opener"]),
                      "members": tuple(signal_from_dict(s) for s in d["members"]),
                      "announced": dict(d["announced"]),
                      "causes": tuple(signal_from_dict(s) for s in d["causes"])})


@dataclass
class Member:
    """One alert of an incident as the tracker follows it: its latest evaluation, and
    where it stands on the way to resolving."""

    signal: AlertSignal
    #: when it joined (event time)
    first_at: float
    #: counted in its incident (False while held by inhibition)
    active: bool = False
    clear_count: int = 0
    clear_since: float | None = None
    #: the latest resolved evaluation: what the incident's resolve says of this member
    cleared: AlertSignal | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Member:
        """The inverse of :meth:`to_dict`."""
        cleared = d["cleared"]
        return cls(**{**d, "signal": signal_from_dict(d["signal"]),
                      "cleared": None if cleared is None else signal_from_dict(cleared)})


def signal_to_dict(signal: AlertSignal) -> dict[str, Any]:
    """A JSON-able copy of ``signal``.

    >>> s = AlertSignal("ranker", "psi", "firing", evidence={"psi": 0.3})
    >>> signal_from_dict(signal_to_dict(s)) == s
    True
    """
    return dataclasses.asdict(signal)


def signal_from_dict(d: Mapping[str, Any]) -> AlertSignal:
    """The inverse of :func:`signal_to_dict` (the fingerprint is kept, never re-derived)."""
    return AlertSignal(**{**d, "evidence": dict(d["evidence"])})
