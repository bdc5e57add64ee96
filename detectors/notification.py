"""What on-call is told of an incident: its labels, summary, description and evidence.

A :class:`Notification` is a firing, update or resolved message for one incident, ready
for any sink (Alertmanager, PagerDuty, Slack, a webhook). :meth:`Notification.of` writes
it from the incident: labels from the alert that opened it, a one-line summary of how many
alerts from which detectors joined, and a description with one line per alert (where it
fired, what it said, its numbers). Its ``dedup_key`` is stable for the incident's episode
(its fingerprint and the event time it opened), so a sink can be idempotent per
``(dedup_key, status)``.

An **update** (``joined`` not empty) tells on-call that new alerts joined an incident
already notified: it is a firing message whose labels are those of the first new cause
plus ``cause`` (that alert's fingerprint), so a sink that identifies alerts by labels
(Alertmanager) or by a key (PagerDuty) sees a new alert in the incident's group and
notifies again. Its ``dedup_key`` is the episode's plus a digest of the joined
fingerprints: the same update, replayed, has the same key. Its description names the new
alerts first (``new:``), then the others. The resolve carries ``episode_alerts``, the
labels of every firing message of the episode, so such sinks close them all.

Examples
--------
>>> from detectors.alert_signal import AlertSignal
>>> from detectors.incident import Incident
>>> s = AlertSignal("ranker", "psi", "firing", feature="f1", summary="PSI 0.31",
...                 evidence={"psi": 0.31})
>>> note = Notification.of(Incident("fp", "ranker", "page", episode_at=10.0, opener=s,
...                                 members=(s,)), "firing", None)
>>> note.annotations["summary"], note.annotations["description"]
('ranker: 1 alert(s) from psi', 'psi on ranker/f1: PSI 0.31 (psi=0.31)')
>>> note.labels["feature"], note.dedup_key, note.evidence
('f1', 'fp:10000', {'psi.psi': 0.31})
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from detectors.alert_signal import AlertSignal, Severity, Status
from detectors.incident import Incident

__all__ = ["Notification"]


@dataclass(frozen=True)
class Notification:
    """A firing, update or resolved message for one incident, ready for any sink."""

    dedup_key: str
    fingerprint: str
    status: Status
    severity: Severity
    model: str
    starts_at: float
    ends_at: float | None
    labels: dict[str, str]
    annotations: dict[str, str]
    evidence: dict[str, float | str]
    generator_url: str
    #: fingerprints of the alerts new in this update (empty: the first firing, a resolve)
    joined: tuple[str, ...] = ()
    #: on a resolve, the labels of every firing message of the episode, the first one's first
    episode_alerts: tuple[dict[str, str], ...] = ()

    @property
    def is_update(self) -> bool:
        """Whether this tells of alerts that joined an incident already notified."""
        return bool(self.joined)

    @classmethod
    def of(cls, inc: Incident, status: Status, ends_at: float | None,
           joined: Sequence[AlertSignal] = ()) -> Notification:
        """The ``status`` message of ``inc``; ``ends_at`` is when it resolved (None: firing);
        ``joined``, the alerts an update announces (the first is the cause it is headed by).
        """
        opener = inc.opener
        assert opener is not None, "an incident always has an opener"
        new = {s.fingerprint for s in joined}
        members = [*joined] + [s for s in inc.members if s.fingerprint not in new]
        annotations = {"summary": _summary(inc, status, joined),
                       "description": _description(members, new)}
        if opener.dashboard_url:
            annotations["dashboard"] = opener.dashboard_url
        evidence = {f"{s.detector}.{k}": v for s in members for k, v in s.evidence.items()}
        dedup_key, labels = inc.dedup_key, _labels(inc, opener)
        if joined:
            digest = hashlib.sha256("\x1f".join(sorted(new)).encode()).hexdigest()[:8]
            dedup_key, labels = f"{dedup_key}+{digest}", _cause_labels(inc, joined[0])
        episode = ((_labels(inc, opener), *(_cause_labels(inc, c) for c in inc.causes))
                   if status == "resolved" else ())
        return cls(dedup_key=dedup_key, fingerprint=inc.fingerprint, status=status,
                   severity=inc.severity, model=inc.model, starts_at=inc.episode_at,
                   ends_at=ends_at, labels=labels, annotations=annotations,
                   evidence=evidence, generator_url=opener.dashboard_url,
                   joined=tuple(s.fingerprint for s in joined), episode_alerts=episode)


def _summary(inc: Incident, status: Status, joined: Sequence[AlertSignal]) -> str:
    """One line: the model, how many alerts from which detectors (and which are new)."""
    detectors = ", ".join(sorted({s.detector for s in inc.members}))
    if joined:
        new = ", ".join(sorted({s.detector for s in joined}))
        return (f"{inc.model}: {len(joined)} new alert(s) from {new} joined the open incident "
                f"({len(inc.members)} alert(s) from {detectors})")
    resolved = "" if status == "firing" else "resolved, "
    return f"{inc.model}: {resolved}{len(inc.members)} alert(s) from {detectors}"


def _labels(inc: Incident, opener: AlertSignal) -> dict[str, str]:
    """The incident's labels: what it is, and where its opening alert fired."""
    labels = {"alertname": f"inferwatch_{opener.detector}", "model": inc.model,
              "detector": opener.detector, "severity": inc.severity,
              "incident": inc.fingerprint}
    if opener.variant:
        labels["variant"] = opener.variant
    if opener.segment not in ("", "*"):
        labels["segment"] = opener.segment
    if opener.feature:
        labels["feature"] = opener.feature
    return labels


def _cause_labels(inc: Incident, cause: AlertSignal) -> dict[str, str]:
    """The labels of an update headed by ``cause``: where it fired, and its identity."""
    return {**_labels(inc, cause), "cause": cause.fingerprint}


def _description(members: Sequence[AlertSignal], new: set[str]) -> str:
    """One line per alert: where it fired, what it said and its numbers."""
    lines = []
    for s in members:
        where = "/".join(p for p in (s.model, s.variant, s.segment, s.feature)
                         if p not in ("", "*"))
        numbers = ", ".join(f"{k}={v}" for k, v in sorted(s.evidence.items()))
        cleared = "cleared: " if s.status == "resolved" else ""
        mark = f"new, {cleared}" if s.fingerprint in new and cleared else (
            "new: " if s.fingerprint in new else cleared)
        lines.append(f"{mark}{s.detector} on {where}: {s.summary or 'condition met'}"
                     + (f" ({numbers})" if numbers else ""))
    return "\n".join(lines)
