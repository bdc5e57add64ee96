"""What the decision step says: detector reports, alerts, retrain requests and decisions."""

from __future__ import annotations

from typing import Literal

from streams.wire.events._base import AlertStatus, Decision, Event, Severity


class DetectorReport(Event, kw_only=True):
    """One detector's verdict over one window of one model (and variant, segment)."""

    detector: str
    model: str
    variant: str
    segment: str
    window_start: float
    window_end: float
    n: int
    statistic: float
    threshold: float
    decision: Decision
    p_value: float | None = None
    evidence: dict[str, float | str] = {}
    ts: float = 0.0


class Alert(Event, kw_only=True):
    """An alert's state change; ``fingerprint`` is stable for (model, detector, segment)."""

    fingerprint: str
    status: AlertStatus
    severity: Severity
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None = None
    evidence: dict[str, float | str] = {}


class RetrainRequested(Event, kw_only=True):
    """Evidence-backed request to retrain a model; ``id`` derives from the evidence."""

    id: str
    model: str
    reason: str
    evidence: dict[str, float | str]
    data_from: float
    data_to: float
    requested_at: float


class RetrainDecided(Event, kw_only=True):
    """The retrain policy's decision on a sustained drift: requested (``retrain_id`` names
    the request), or suppressed, with the reason (cooldown, budget, too few new labels)."""

    model: str
    status: Literal["requested", "suppressed"]
    reason: str
    incident_start: float
    ts: float
    retrain_id: str = ""
