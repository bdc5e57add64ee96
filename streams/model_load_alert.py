"""The alert of a model version that could not be loaded for serving.

Serving goes on on the version a variant had, so this is a ticket, not a page: someone
must look at the artifact (missing, corrupt, or reading other features) before the
version can serve. Its identity is the (model, variant, version) that failed.
"""

from __future__ import annotations

from detectors.fingerprint import incident_id
from streams.events import Alert, ModelVersionPublished
from streams.model_catalog import LoadFailure

DETECTOR = "model_load"


def load_failure_alert(failure: LoadFailure, update: ModelVersionPublished, *,
                       now: float) -> Alert:
    """A firing ticket naming the version that failed to load, why, and what still serves.

    >>> f = LoadFailure("churn", "A", "v3", "v2", "ValueError: not an artifact")
    >>> u = ModelVersionPublished(model="churn", version="v3", artifact="/m/v3/model.pt")
    >>> a = load_failure_alert(f, u, now=5.0)
    >>> a.labels["detector"], a.annotations["summary"]
    ('model_load', 'churn v3 cannot be loaded: variant A still serves v2')
    """
    target = {"version": failure.version}
    return Alert(
        fingerprint=incident_id(failure.model, failure.variant, DETECTOR, "ticket", target),
        status="firing", severity="ticket",
        labels={"model": failure.model, "variant": failure.variant, "detector": DETECTOR,
                "severity": "ticket", "version": failure.version},
        annotations={
            "summary": f"{failure.model} {failure.version} cannot be loaded: variant "
                       f"{failure.variant} still serves {failure.kept}",
            "description": f"{failure.error} (artifact {update.artifact}, event "
                           f"{update.action}); republish a good artifact as a new version"},
        starts_at=now, evidence={"kept": failure.kept, "error": failure.error[:500]})
