"""What on-call is told of an incident: its labels, summary, description and evidence.

A :class:`Notification` is a firing or resolved message for one incident, ready for any
sink (Alertmanager, PagerDuty, Slack, a webhook). :meth:`Notification.of` writes it from
the incident: labels from the alert that opened it, a one-line summary of how many
alerts from which detectors joined, and a description with one line per alert (where it
fired, what it said, its numbers). Its ``dedup_key`` is stable for the incident's episode
(its fingerprint and the event time it opened), so a sink can be idempotent per
``(dedup_key, status)``.

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

from collections.abc import Sequence
from dataclasses import dataclass

from detectors.alert_signal import AlertSignal, Severity, Status
from detectors.incident import Incident

__all__ = ["Notification"]


@dataclass(frozen=True)
class Notification:
    """A firing or resolved message for one incident, ready for any sink."""

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

    @classmethod
    def of(cls, inc: Incident, status: Status, ends_at: float | None) -> Notification:
        """The ``status`` message of ``inc``; ``ends_at`` is when it resolved (None: firing)."""
        opener = inc.opener
        assert opener is not None, "an incident always has an opener"
        detectors = sorted({s.detector for s in inc.members})
        resolved = "" if status == "firing" else "resolved, "
        summary = (f"{inc.model}: {resolved}{len(inc.members)} alert(s) from "
                   f"{', '.join(detectors)}")
        annotations = {"summary": summary, "description": _description(inc.members)}
        if opener.dashboard_url:
            annotations["dashboard"] = opener.dashboard_url
        evidence = {f"{s.detector}.{k}": v for s in inc.members for k, v in s.evidence.items()}
        return cls(dedup_key=inc.dedup_key, fingerprint=inc.fingerprint, status=status,
                   severity=inc.severity, model=inc.model, starts_at=inc.episode_at,
                   ends_at=ends_at, labels=_labels(inc, opener), annotations=annotations,
                   evidence=evidence, generator_url=opener.dashboard_url)


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


def _description(members: Sequence[AlertSignal]) -> str:
    """One line per alert: where it fired, what it said and its numbers."""
    lines = []
    for s in members:
        where = "/".join(p for p in (s.model, s.variant, s.segment, s.feature)
                         if p not in ("", "*"))
        numbers = ", ".join(f"{k}={v}" for k, v in sorted(s.evidence.items()))
        cleared = "cleared: " if s.status == "resolved" else ""
        lines.append(f"{cleared}{s.detector} on {where}: {s.summary or 'condition met'}"
                     + (f" ({numbers})" if numbers else ""))
    return "\n".join(lines)
