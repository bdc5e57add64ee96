"""The alert of a model version that could not be loaded for serving.

Serving goes on on the version a variant had, so this is a ticket, not a page: someone
must look at the artifact (missing, corrupt, or reading other features) before the
version can serve. Its identity is the (model, variant, version) that failed; it resolves
once the variant no longer waits for that version (another one loaded, or its reference
moved back to what it serves).
"""

from __future__ import annotations

from typing import Literal

from detectors.fingerprint import incident_id
from inference.served_versions import LoadFailure
from streams.wire.events import Alert, ModelVersionPublished

DETECTOR = "model_load"


def load_failure_alert(failure: LoadFailure, update: ModelVersionPublished) -> Alert:
    """A firing ticket naming the version that failed to load, why, and what still serves
    (it starts when the load first failed).

    >>> f = LoadFailure("churn", "A", "v3", "v2", "ValueError: not an artifact", at=5.0)
    >>> u = ModelVersionPublished(model="churn", version="v3", artifact="/m/v3/model.pt")
    >>> a = load_failure_alert(f, u)
    >>> a.labels["detector"], a.annotations["summary"]
    ('model_load', 'churn v3 cannot be loaded: variant A still serves v2')
    """
    return _ticket(
        failure, "firing",
        f"{failure.model} {failure.version} cannot be loaded: variant {failure.variant} "
        f"still serves {failure.kept}",
        f"{failure.error} (artifact {update.artifact}, event {update.action}); republish a "
        "good artifact as a new version",
        {"kept": failure.kept, "error": failure.error[:500]})


def load_recovered_alert(failure: LoadFailure, *, now: float) -> Alert:
    """The resolve of :func:`load_failure_alert`'s ticket: the variant no longer waits for
    the version that failed (another version loaded, or its reference moved back);
    ``failure.kept`` is what it serves now.

    >>> f = LoadFailure("churn", "A", "v3", "v4", "ValueError: not an artifact", at=2.0)
    >>> a = load_recovered_alert(f, now=9.0)
    >>> a.status, a.starts_at, a.ends_at, a.annotations["summary"]
    ('resolved', 2.0, 9.0, 'churn v3 no longer waited for: variant A serves v4')
    >>> a.fingerprint == load_failure_alert(f, ModelVersionPublished(
    ...     model="churn", version="v3", artifact="")).fingerprint
    True
    """
    return _ticket(
        failure, "resolved",
        f"{failure.model} {failure.version} no longer waited for: variant "
        f"{failure.variant} serves {failure.kept}",
        f"was: {failure.error}", {"serves": failure.kept}, ends_at=now)


def _ticket(failure: LoadFailure, status: Literal["firing", "resolved"], summary: str,
            description: str, evidence: dict[str, float | str],
            ends_at: float | None = None) -> Alert:
    """Every event of one failure's ticket: its identity is the (model, variant, version)."""
    target = {"version": failure.version}
    return Alert(
        fingerprint=incident_id(failure.model, failure.variant, DETECTOR, "ticket", target),
        status=status, severity="ticket",
        labels={"model": failure.model, "variant": failure.variant, "detector": DETECTOR,
                "severity": "ticket", "version": failure.version},
        annotations={"summary": summary, "description": description},
        starts_at=failure.at, ends_at=ends_at, evidence=evidence)
