"""The alert of a model version that could not be loaded for serving.

Serving goes on on the version a variant had, so this is a ticket, not a page: someone
must look at the artifact (missing, corrupt, or reading other features) before the
version can serve. Its identity is the (model, variant, version) that failed; it resolves
once the variant no longer waits for that version (another one loaded, or its reference
moved back to what it serves).
"""

from __future__ import annotations

from detectors.fingerprint import incident_id
from streams.events import Alert, ModelVersionPublished
from streams.model_catalog import LoadFailure

DETECTOR = "model_load"


def load_failure_alert(failure: LoadFailure, update: ModelVersionPublished, *,
                       now: float) -> Alert:
    """A firing ticket naming the version that failed to load, why, and what still serves.

    >>> f = LoadFailure("churn", "A", "v3", "v2", "ValueError: not an artifact", at=5.0)
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
        starts_at=failure.at, evidence={"kept": failure.kept, "error": failure.error[:500]})


def load_recovered_alert(failure: LoadFailure, *, now: float) -> Alert:
    """The resolve of :func:`load_failure_alert`'s ticket: the variant no longer waits for
    the version that failed (another version loaded, or its reference moved back);
    ``failure.kept`` is what it serves now.

    >>> f = LoadFailure("churn", "A", "v3", "v4", "ValueError: not an artifact", at=2.0)
    >>> a = load_recovered_alert(f, now=9.0)
    >>> a.status, a.starts_at, a.ends_at, a.annotations["summary"]
    ('resolved', 2.0, 9.0, 'churn v3 no longer waited for: variant A serves v4')
    >>> a.fingerprint == load_failure_alert(f, ModelVersionPublished(
    ...     model="churn", version="v3", artifact=""), now=2.0).fingerprint
    True
    """
    target = {"version": failure.version}
    return Alert(
        fingerprint=incident_id(failure.model, failure.variant, DETECTOR, "ticket", target),
        status="resolved", severity="ticket",
        labels={"model": failure.model, "variant": failure.variant, "detector": DETECTOR,
                "severity": "ticket", "version": failure.version},
        annotations={
            "summary": f"{failure.model} {failure.version} no longer waited for: variant "
                       f"{failure.variant} serves {failure.kept}",
            "description": f"was: {failure.error}"},
        starts_at=failure.at, ends_at=now, evidence={"serves": failure.kept})
