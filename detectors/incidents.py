"""The alert lifecycle downstream of detectors: one incident per model, not one page per alert.

Detectors report a condition per evaluation (:class:`~detectors.alert_signal.AlertSignal`,
firing or resolved).
The :class:`IncidentTracker` turns that stream into the few notifications on-call should
get:

- **fingerprints**: an alert is identified by ``fingerprint(model, detector, segment)``
  (:mod:`detectors.fingerprint`, re-exported here), the same on every worker and after a
  replay;
- **grouping**: the alerts of one model and severity form one incident (a page and a
  ticket of the same model are separate incidents, so an escalation still pages);
- **hysteresis**: an alert counts as resolved only after its condition cleared for
  ``resolve_after_evaluations`` evaluations in a row or for ``resolve_after_s`` seconds;
- **group wait**: a new incident is notified ``group_wait_s`` after it opens (on the next
  evaluation or tick), so alerts that fire together (a feature's drift and the prediction
  drift it causes, judged on one window) reach on-call as one notification that lists
  them all;
- **group interval** (no new cause is swallowed): once an incident was notified, a
  member of a detector not yet named in the episode (a new cause: another diagnosis,
  say a sample-ratio mismatch joining drift) is notified as an *update* naming it and
  its evidence, at most one per ``group_interval_s`` (Alertmanager's ``group_interval``);
  a member of a detector already named (drift in one more feature or segment) only joins
  the open incident: it rides along in the next update and is listed in the resolve, as
  one message per feature would bury the next cause. A page never joins a ticket (they
  are separate incidents). A member named once is not named again in its episode; the
  resolve lists every member as it cleared;
- **cooldown**: an incident that fires again within ``cooldown_s`` of being resolved is
  reopened silently; it is notified (as a new episode) only if it is still firing when
  the cooldown ends, so flapping makes no noise and a real recurrence is not lost;
- **inhibition** (:mod:`detectors.inhibition`): an alert whose kind an
  :class:`~detectors.inhibition.InhibitRule` targets (drift, by default)
  is held while an alert of a source kind (schema, consumer lag, data quality) is active
  for the same model, or for every model (model ``*``: an undecodable record names no
  model), since that upstream fault explains it. An alert already notified
  is not withdrawn when a source starts.

Replay gives what the live run gave: an evaluation first settles what fell due before
it, and a notification is timed when it fell due (event time), not when a tick saw it;
the router rebuilds its state by replaying the alerts topic, so it remakes the same
notifications with the same ``dedup_key`` and its outbox drops them.
:meth:`~IncidentTracker.snapshot` and :meth:`~IncidentTracker.restore` save the state.

What on-call reads of an incident is its :class:`~detectors.notification.Notification`,
written there. The clock is injected; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from detectors.alert_signal import AlertSignal
from detectors.fingerprint import fingerprint
from detectors.incident import Incident, Member, signal_from_dict, signal_to_dict
from detectors.inhibition import DEFAULT_INHIBIT_RULES, InhibitRule, inhibited
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
    group_interval_s
        Least seconds between two notifications of one incident: a new cause joining it
        is notified at most this long after it joined, >= 0 (Alertmanager's default).

    Examples
    --------
    >>> t = IncidentTracker(clock=lambda: 0.0, resolve_after_evaluations=2,
    ...                     group_interval_s=60.0)
    >>> [n.status for n in t.observe(AlertSignal("ranker", "psi", "firing", at=0.0))]
    ['firing']
    >>> t.observe(AlertSignal("ranker", "ks", "firing", at=1.0))  # a new cause: waits
    []
    >>> [n.joined == (fingerprint("ranker", "ks"),) for n in t.observe(
    ...     AlertSignal("ranker", "ks", "firing", at=60.0))]  # the interval is over
    [True]
    >>> t.observe(AlertSignal("ranker", "psi", "firing", at=70.0))  # a known one: quiet
    []
    """

    def __init__(self, clock: Callable[[], float], resolve_after_evaluations: int = 3,
                 resolve_after_s: float = 300.0, cooldown_s: float = 1800.0,
                 inhibit_rules: Sequence[InhibitRule] = DEFAULT_INHIBIT_RULES,
                 group_wait_s: float = 0.0, group_interval_s: float = 300.0) -> None:
        if not (isinstance(resolve_after_evaluations, int) and resolve_after_evaluations >= 1):
            raise ValueError("resolve_after_evaluations must be an integer in [1, inf), got "
                             f"{resolve_after_evaluations!r}")
        for name, value in (("resolve_after_s", resolve_after_s), ("cooldown_s", cooldown_s),
                            ("group_wait_s", group_wait_s),
                            ("group_interval_s", group_interval_s)):
            if not value >= 0:
                raise ValueError(f"{name} must be in [0, inf), got {value!r}")
        self.group_wait_s = group_wait_s
        self.group_interval_s = group_interval_s
        self.clock = clock
        self.resolve_after_evaluations = resolve_after_evaluations
        self.resolve_after_s = resolve_after_s
        self.cooldown_s = cooldown_s
        self.inhibit_rules = tuple(inhibit_rules)
        self._members: dict[str, Member] = {}
        self._incidents: dict[str, Incident] = {}
        # per incident, its members that cleared since it last fired, as they cleared
        self._cleared: dict[str, dict[str, AlertSignal]] = {}

    @property
    def incidents(self) -> list[Incident]:
        """Incidents firing or cooling down, by fingerprint."""
        return [self._incidents[k] for k in sorted(self._incidents)]

    def observe(self, signal: AlertSignal) -> list[Notification]:
        """Take one evaluation; return the notifications it causes (often none), after
        those that fell due before it."""
        now = self.clock() if signal.at is None else signal.at
        out = self._step(now)
        member = self._members.get(signal.fingerprint)
        if signal.status == "firing":
            if member is None:
                self._members[signal.fingerprint] = Member(signal, first_at=now)
            else:
                member.signal, member.clear_count, member.clear_since = signal, 0, None
        elif member is not None:
            member.cleared = signal
            member.clear_count += 1
            member.clear_since = now if member.clear_since is None else member.clear_since
        return out + self._step(now)

    def tick(self) -> list[Notification]:
        """Apply time-based resolution, cooldown ends and group intervals at the clock's time."""
        return self._step(self.clock())

    def next_due(self) -> float | None:
        """When the next notification of a firing incident falls due (the end of its group
        wait, its cooldown or its group interval), so a caller can tick then; None when
        none is pending."""
        groups = self._groups()
        due = [self._due(key, inc, groups.get(key, [])) for key, inc in self._incidents.items()
               if inc.state == "firing"]
        return min((d for d in due if d is not None), default=None)

    # -- saving and loading -------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able dicts (the parameters are not part of it)."""
        return {"members": {fp: m.to_dict() for fp, m in self._members.items()},
                "incidents": {k: inc.to_dict() for k, inc in self._incidents.items()},
                "cleared": {k: {fp: signal_to_dict(s) for fp, s in c.items()}
                            for k, c in self._cleared.items()}}

    def restore(self, snap: Mapping[str, Any]) -> None:
        """Replace the state by one :meth:`snapshot` returned."""
        self._members = {fp: Member.from_dict(m) for fp, m in snap["members"].items()}
        self._incidents = {k: Incident.from_dict(d) for k, d in snap["incidents"].items()}
        self._cleared = {k: {fp: signal_from_dict(s) for fp, s in c.items()}
                         for k, c in snap["cleared"].items()}

    # -- the state machine -------------------------------------------------------------
    def _step(self, now: float) -> list[Notification]:
        for fp in [fp for fp, m in self._members.items() if self._is_clear(m, now)]:
            m = self._members.pop(fp)
            if m.active:
                key = incident_fingerprint(m.signal.model, m.signal.severity)
                self._cleared.setdefault(key, {})[fp] = m.cleared or m.signal
        active = [m.signal for m in self._members.values()]
        for m in self._members.values():
            if not m.active and not inhibited(m.signal, self.inhibit_rules, active):
                m.active = True
        groups = self._groups()
        out: list[Notification] = []
        for key in sorted(set(groups) | set(self._incidents)):
            note = self._advance(key, groups.get(key, []), now)
            if note is not None:
                out.append(note)
        return out

    def _groups(self) -> dict[str, list[Member]]:
        """The active members of each incident, in the order they joined."""
        groups: dict[str, list[Member]] = {}
        for m in self._members.values():
            if m.active:
                key = incident_fingerprint(m.signal.model, m.signal.severity)
                groups.setdefault(key, []).append(m)
        for members in groups.values():
            members.sort(key=lambda m: (m.first_at, m.signal.fingerprint))
        return groups

    def _is_clear(self, m: Member, now: float) -> bool:
        if m.clear_since is None:
            return False
        return (m.clear_count >= self.resolve_after_evaluations
                or now - m.clear_since >= self.resolve_after_s)

    def _advance(self, key: str, members: list[Member], now: float) -> Notification | None:
        inc = self._incidents.get(key)
        if members:
            return self._notify(key, self._open(key, members, inc, now), members, now)
        if inc is not None and inc.state == "firing":
            inc.state, inc.resolved_at = "resolved", now
            cleared = self._cleared.pop(key, {})
            # the resolve lists every member of the episode as it cleared, with its evidence
            inc.members = tuple(cleared.values()) or inc.members
            if inc.notified:
                return Notification.of(inc, "resolved", now)
            return None
        if inc is not None and now - (inc.resolved_at or now) >= self.cooldown_s:
            del self._incidents[key]
        return None

    def _open(self, key: str, members: list[Member], inc: Incident | None,
              now: float) -> Incident:
        """The incident of ``members``, opened or reopened (a new episode) if need be."""
        signals = tuple(m.signal for m in members)
        if inc is None:
            s = signals[0]
            inc = Incident(key, s.model, s.severity, episode_at=now, opener=s,
                           hold_until=now + self.group_wait_s)
            self._incidents[key] = inc
        elif inc.state == "resolved":  # fired again within the cooldown
            inc.state, inc.notified, inc.episode_at = "firing", False, now
            inc.hold_until = (inc.resolved_at or now) + self.cooldown_s
            inc.opener, inc.announced, inc.causes = signals[0], {}, ()
        inc.members = signals
        cleared = self._cleared.get(key, {})
        for s in signals:  # firing again: no longer among the cleared
            cleared.pop(s.fingerprint, None)
        return inc

    def _notify(self, key: str, inc: Incident, members: list[Member],
                now: float) -> Notification | None:
        """The first notification of ``inc``, or an update naming new causes, if due."""
        due = self._due(key, inc, members)
        if due is None or now < due:
            return None
        inc.notified_at = due
        known = set(inc.announced.values())
        new = [s for _, s in self._news(key, inc, members)]
        inc.announced.update((s.fingerprint, s.detector) for s in new)
        if not inc.notified:
            inc.notified = True
            return Notification.of(inc, "firing", None)
        # the update is headed by its first new cause; other new members ride along
        new.sort(key=lambda s: s.detector in known)
        inc.causes += (new[0],)
        return Notification.of(inc, "firing", None, joined=new)

    def _due(self, key: str, inc: Incident, members: list[Member]) -> float | None:
        """When ``inc``'s next notification falls due (None: nothing to tell)."""
        if not inc.notified:
            return inc.hold_until
        known = set(inc.announced.values())
        causes = [at for at, s in self._news(key, inc, members) if s.detector not in known]
        if not causes:
            return None
        return max(inc.notified_at + self.group_interval_s, min(causes))

    def _news(self, key: str, inc: Incident,
              members: list[Member]) -> list[tuple[float, AlertSignal]]:
        """The members not yet named in ``inc``'s episode and when they joined: the active
        ones, then those that cleared before they could be named (a cause that came and
        went between two notifications is still told)."""
        news = [(m.first_at, m.signal) for m in members
                if m.signal.fingerprint not in inc.announced]
        cleared = self._cleared.get(key, {})
        return news + [(inc.notified_at if s.at is None else s.at, s)
                       for fp, s in cleared.items() if fp not in inc.announced]
