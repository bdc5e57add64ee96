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
    """A decision on a retrain, with its reason.

    From the decision step's policy, on a sustained drift: ``requested`` (``retrain_id``
    names the request) or ``suppressed`` (cooldown, budget, too few new labels). From the
    retrain worker: ``failed`` when a request trained nothing that could be published
    ("not trained: N of M labels within W s", the trainer raised or ran past its
    deadline, or its folder failed the publish checks; the champion is untouched), and
    ``requested`` when a request short of labels is asked again because they came. For
    the worker's decisions ``incident_start`` is the request's ``data_from``."""

    model: str
    status: Literal["requested", "suppressed", "failed"]
    reason: str
    incident_start: float
    ts: float
    retrain_id: str = ""
