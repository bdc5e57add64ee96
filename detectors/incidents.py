"""The alert lifecycle downstream of detectors: one incident per model, not one page per alert.

Detectors report a condition per evaluation (:class:`~detectors.alert_signal.AlertSignal`,
firing or resolved).
The :class:`IncidentTracker` turns that stream into the few notifications on-call should
get:

- **fingerprints**: an alert is identified by ``fingerprint(model, detector, segment)``
  (:mod:`detectors.fingerprint`, re-exported here), the same on every worker and after a
  replay;
- **grouping**: the alerts of one model and severity form one incident, notified once
  however many features, segments or detectors join it (a page and a ticket of the same
  model are separate incidents, so an escalation still pages);
- **hysteresis**: an alert counts as resolved only after its condition cleared for
  ``resolve_after_evaluations`` evaluations in a row or for ``resolve_after_s`` seconds;
- **group wait**: a new incident is notified ``group_wait_s`` after it opens (on the next
  evaluation or tick), so alerts that fire together (a feature's drift and the prediction
  drift it causes, judged on one window) reach on-call as one notification that lists
  them all; alerts that join the incident later are not notified again;
- **cooldown**: an incident that fires again within ``cooldown_s`` of being resolved is
  reopened silently; it is notified (as a new episode) only if it is still firing when
  the cooldown ends, so flapping makes no noise and a real recurrence is not lost;
- **inhibition**: an alert whose kind an :class:`InhibitRule` targets (drift, by default)
  is held while an alert of a source kind (schema, consumer lag, data quality) is active
  for the same model, or for every model (model ``*``: an undecodable record names no
  model), since that upstream fault explains it. An alert already notified
  is not withdrawn when a source starts.

What on-call reads of an incident is its :class:`~detectors.notification.Notification`,
written there. The clock is injected; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.alert_signal import AlertSignal
from detectors.fingerprint import fingerprint
from detectors.incident import Incident
from detectors.notification import Notification

__all__ = ["DEFAULT_INHIBIT_RULES", "IncidentTracker", "InhibitRule", "fingerprint",
           "incident_fingerprint"]


def incident_fingerprint(model: str, severity: str) -> str:
    """Deterministic id of the incident that groups ``model``'s alerts of ``severity``.

    Examples
    --------
    >>> incident_fingerprint("ranker", "page") == fingerprint("ranker", "incident", "page")
    True
    """
    return fingerprint(model, "incident", severity)


@dataclass(frozen=True)
class InhibitRule:
    """Hold alerts of a ``targets`` kind while one of a ``sources`` kind is active (same model)."""

    sources: frozenset[str]
    targets: frozenset[str]


DEFAULT_INHIBIT_RULES: tuple[InhibitRule, ...] = (
    InhibitRule(sources=frozenset({"schema", "consumer_lag", "data_quality"}),
                targets=frozenset({"drift"})),
)


@dataclass
class _Member:
    signal: AlertSignal
    first_at: float
    active: bool = False  # counted in its incident (False while held by inhibition)
    clear_count: int = 0
    clear_since: float | None = None
    #: the latest resolved evaluation: what the incident's resolve says of this member
    cleared: AlertSignal | None = None


class IncidentTracker:
    """Group, damp and inhibit alert evaluations into incident notifications.

    Parameters
    ----------
    clock
        Returns the current time in epoch seconds (used when a signal has no ``at``).
    resolve_after_evaluations
        Clear evaluations in a row after which an alert resolves, at least 1.
    resolve_after_s
        Seconds after the first clear evaluation after which an alert resolves, >= 0.
    cooldown_s
        Seconds after an incident resolves during which a new firing is not notified, >= 0.
    group_wait_s
        Seconds a new incident waits for more members before its first notification, >= 0.
    inhibit_rules
        Which alert kinds hold which others for the same model.

    Examples
    --------
    >>> t = IncidentTracker(clock=lambda: 0.0, resolve_after_evaluations=2)
    >>> [n.status for n in t.observe(AlertSignal("ranker", "psi", "firing", at=0.0))]
    ['firing']
    >>> t.observe(AlertSignal("ranker", "ks", "firing", at=1.0))  # same incident: quiet
    []
    >>> for d in ("psi", "ks"):
    ...     _ = t.observe(AlertSignal("ranker", d, "resolved", at=2.0))
    >>> [n.status for n in t.observe(AlertSignal("ranker", "psi", "resolved", at=3.0))]
    []
    >>> [n.status for n in t.observe(AlertSignal("ranker", "ks", "resolved", at=3.0))]
    ['resolved']
    """

    def __init__(self, clock: Callable[[], float], resolve_after_evaluations: int = 3,
                 resolve_after_s: float = 300.0, cooldown_s: float = 1800.0,
                 inhibit_rules: Sequence[InhibitRule] = DEFAULT_INHIBIT_RULES,
                 group_wait_s: float = 0.0) -> None:
        if not (isinstance(resolve_after_evaluations, int) and resolve_after_evaluations >= 1):
            raise ValueError("resolve_after_evaluations must be an integer in [1, inf), got "
                             f"{resolve_after_evaluations!r}")
        if not resolve_after_s >= 0:
            raise ValueError(f"resolve_after_s must be in [0, inf), got {resolve_after_s!r}")
        if not cooldown_s >= 0:
            raise ValueError(f"cooldown_s must be in [0, inf), got {cooldown_s!r}")
        if not group_wait_s >= 0:
            raise ValueError(f"group_wait_s must be in [0, inf), got {group_wait_s!r}")
        self.group_wait_s = group_wait_s
        self.clock = clock
        self.resolve_after_evaluations = resolve_after_evaluations
        self.resolve_after_s = resolve_after_s
        self.cooldown_s = cooldown_s
        self.inhibit_rules = tuple(inhibit_rules)
        self._members: dict[str, _Member] = {}
        self._incidents: dict[str, Incident] = {}
        # per incident, its members that cleared since it last fired, as they cleared
        self._cleared: dict[str, dict[str, AlertSignal]] = {}

    @property
    def incidents(self) -> list[Incident]:
        """Incidents firing or cooling down, by fingerprint."""
        return [self._incidents[k] for k in sorted(self._incidents)]

    def observe(self, signal: AlertSignal) -> list[Notification]:
        """Take one evaluation; return the notifications it causes (often none)."""
        now = self.clock() if signal.at is None else signal.at
        member = self._members.get(signal.fingerprint)
        if signal.status == "firing":
            if member is None:
                self._members[signal.fingerprint] = _Member(signal, first_at=now)
            else:
                member.signal, member.clear_count, member.clear_since = signal, 0, None
        elif member is not None:
            member.cleared = signal
            member.clear_count += 1
            member.clear_since = now if member.clear_since is None else member.clear_since
        return self._step(now)

    def tick(self) -> list[Notification]:
        """Apply time-based resolution and cooldown ends at the clock's time."""
        return self._step(self.clock())

    def next_due(self) -> float | None:
        """When the first incident still waiting for its first notification is due (the
        end of its group wait, or of its cooldown), so a caller can tick then; None when
        none waits."""
        return min((inc.hold_until for inc in self._incidents.values()
                    if inc.state == "firing" and not inc.notified), default=None)

    # -- the state machine -------------------------------------------------------------
    def _step(self, now: float) -> list[Notification]:
        for fp in [fp for fp, m in self._members.items() if self._is_clear(m, now)]:
            m = self._members.pop(fp)
            if m.active:
                key = incident_fingerprint(m.signal.model, m.signal.severity)
                self._cleared.setdefault(key, {})[fp] = m.cleared or m.signal
        for m in self._members.values():
            if not m.active and not self._inhibited(m.signal):
                m.active = True
        groups: dict[str, list[_Member]] = {}
        for m in self._members.values():
            if m.active:
                key = incident_fingerprint(m.signal.model, m.signal.severity)
                groups.setdefault(key, []).append(m)
        out: list[Notification] = []
        for key in sorted(set(groups) | set(self._incidents)):
            note = self._advance(key, groups.get(key, []), now)
            if note is not None:
                out.append(note)
        return out

    def _is_clear(self, m: _Member, now: float) -> bool:
        if m.clear_since is None:
            return False
        return (m.clear_count >= self.resolve_after_evaluations
                or now - m.clear_since >= self.resolve_after_s)

    def _inhibited(self, signal: AlertSignal) -> bool:
        kind = signal.effective_kind
        for rule in self.inhibit_rules:
            if kind in rule.targets and any(
                    o.signal.model in (signal.model, "*")
                    and o.signal.effective_kind in rule.sources
                    for o in self._members.values()):
                return True
        return False

    def _advance(self, key: str, members: list[_Member], now: float) -> Notification | None:
        inc = self._incidents.get(key)
        if members:
            members.sort(key=lambda m: (m.first_at, m.signal.fingerprint))
            signals = tuple(m.signal for m in members)
            if inc is None:
                s = signals[0]
                inc = Incident(key, s.model, s.severity, episode_at=now, opener=s,
                               hold_until=now + self.group_wait_s)
                self._incidents[key] = inc
            elif inc.state == "resolved":  # fired again within the cooldown
                inc.state, inc.notified, inc.episode_at = "firing", False, now
                inc.hold_until = (inc.resolved_at or now) + self.cooldown_s
                inc.opener = signals[0]
            inc.members = signals
            cleared = self._cleared.get(key, {})
            for s in signals:  # firing again: no longer among the cleared
                cleared.pop(s.fingerprint, None)
            if not inc.notified and now >= inc.hold_until:
                inc.notified = True
                return Notification.of(inc, "firing", None)
            return None
        if inc is None:
            return None
        if inc.state == "firing":
            inc.state, inc.resolved_at = "resolved", now
            cleared = self._cleared.pop(key, {})
            # the resolve lists every member of the episode as it cleared, with its evidence
            inc.members = tuple(cleared.values()) or inc.members
            if inc.notified:
                return Notification.of(inc, "resolved", now)
            return None
        if now - (inc.resolved_at or now) >= self.cooldown_s:
            del self._incidents[key]
        return None
