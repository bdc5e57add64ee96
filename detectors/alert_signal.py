"""One evaluation of one detector's alert condition: what the incident tracker takes in.

The stream side turns each detector alert (firing or resolved) into an
:class:`AlertSignal`; :class:`~detectors.incidents.IncidentTracker` groups them into
incidents. A signal's ``fingerprint`` identifies its alert on every worker and after a
replay (:func:`detectors.fingerprint.fingerprint`).

Examples
--------
>>> s = AlertSignal("ranker", "psi", "firing", segment="region=eu")
>>> s.effective_kind, s.fingerprint == AlertSignal("ranker", "psi", "resolved",
...                                                segment="region=eu").fingerprint
('psi', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from detectors.fingerprint import fingerprint

__all__ = ["AlertSignal", "Severity", "Status"]

Status = Literal["firing", "resolved"]
Severity = Literal["page", "ticket", "info"]


@dataclass(frozen=True)
class AlertSignal:
    """One evaluation of one detector's alert condition (the stream side converts to it).

    ``fingerprint`` is the alert's identity as its producer decided it (the wire's); a
    signal built without one gets ``fingerprint(model, detector, segment, variant)``.
    """

    model: str
    detector: str
    status: Status
    severity: Severity = "page"
    #: event time in epoch seconds; None means the tracker's clock
    at: float | None = None
    segment: str = "*"
    variant: str = ""
    #: what inhibition matches on (drift, schema, consumer_lag...); defaults to ``detector``
    kind: str = ""
    summary: str = ""
    evidence: Mapping[str, float | str] = field(default_factory=dict)
    dashboard_url: str = ""
    fingerprint: str = ""
    #: the feature that fired, if the alert names one
    feature: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            fp = fingerprint(self.model, self.detector, self.segment, self.variant or "*")
            object.__setattr__(self, "fingerprint", fp)

    @property
    def effective_kind(self) -> str:
        """``kind``, or the detector's name when no kind was given."""
        return self.kind or self.detector
