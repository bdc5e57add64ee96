"""The ticket of a retrain that produced nothing to publish.

A retrain request that trained nothing (too few labels within the wait), whose trainer
raised or ran past its deadline, or whose candidate failed the publish checks leaves the
champion serving as it was; the drift that asked for the retrain is still there. That is
a ticket, not a page: someone must look at the labels or the trainer. Its identity is
the (model, request) that failed, so a request asked again that fails again updates the
same ticket; it resolves when a later retrain of the model publishes a version that
passes validation.

Examples
--------
>>> fired = retrain_failed_alert("churn", "rt-1", "not trained: 12 of 500 labels within 60 s",
...                              at=5.0)
>>> fired.status, fired.severity, fired.labels["detector"], fired.annotations["summary"]
('firing', 'ticket', 'retrain', 'churn retrain rt-1 failed: not trained: 12 of 500 labels \
within 60 s')
>>> over = retrain_recovered_alert("churn", "rt-1", at=5.0, version="v2", now=9.0)
>>> over.fingerprint == fired.fingerprint, over.status, over.ends_at
(True, 'resolved', 9.0)
"""

from __future__ import annotations

from typing import Literal

from detectors.fingerprint import incident_id
from streams.wire.events import Alert

__all__ = ["DETECTOR", "retrain_failed_alert", "retrain_recovered_alert"]

DETECTOR = "retrain"
#: serving is per variant; a retrain is the model's (its champion), not a variant's
_VARIANT = "*"


def retrain_failed_alert(model: str, retrain_id: str, reason: str, *, at: float) -> Alert:
    """A firing ticket: request ``retrain_id`` of ``model`` published nothing, and why."""
    return _ticket(model, retrain_id, "firing", f"{model} retrain {retrain_id} failed: {reason}",
                   f"{reason}; the champion serves on, untouched. Check the labels "
                   "(outcomes) and INFERWATCH_RETRAIN_TRAINER; the ticket resolves when a "
                   "later retrain of the model passes validation.",
                   {"reason": reason[:500]}, at)


def retrain_recovered_alert(model: str, retrain_id: str, *, at: float, version: str,
                            now: float) -> Alert:
    """The resolve of :func:`retrain_failed_alert`'s ticket: a later retrain published
    ``version``, which passed validation."""
    return _ticket(model, retrain_id, "resolved",
                   f"{model} retrain {retrain_id} superseded: {version} passed validation",
                   f"a later retrain published {version}", {"version": version}, at,
                   ends_at=now)


def _ticket(model: str, retrain_id: str, status: Literal["firing", "resolved"], summary: str,
            description: str, evidence: dict[str, float | str], at: float,
            ends_at: float | None = None) -> Alert:
    """Every event of one failed request's ticket: its identity is (model, request)."""
    return Alert(
        fingerprint=incident_id(model, _VARIANT, DETECTOR, "ticket", {"retrain_id": retrain_id}),
        status=status, severity="ticket",
        labels={"model": model, "variant": _VARIANT, "detector": DETECTOR,
                "severity": "ticket", "retrain_id": retrain_id},
        annotations={"summary": summary, "description": description},
        starts_at=at, ends_at=ends_at, evidence=evidence)
