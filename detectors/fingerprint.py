"""Deterministic alert fingerprints: the same (model, detector, segment), the same id.

A replay after a crash, or a second worker, then names the same alert and pages no one
twice.

>>> fingerprint("churn", "feature_drift", "*") == fingerprint("churn", "feature_drift", "*")
True
>>> len(fingerprint("churn", "latency", "region=eu"))
16
"""

from __future__ import annotations

import hashlib


def fingerprint(model: str, detector: str, segment: str = "*", variant: str = "*") -> str:
    """A 16-hex-digit id of the alert for ``detector`` on ``model`` (``variant``) in ``segment``.

    The variant defaults to ``*`` (the model as a whole), so fingerprints of alerts that
    do not distinguish variants stay what they were.
    """
    parts = (model, detector, segment) if variant == "*" else (model, detector, segment, variant)
    raw = "\x1f".join(parts).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def incident_id(model: str, variant: str, detector: str, severity: str,
                target: dict[str, str]) -> str:
    """A 16-hex-digit id of one incident: the model's variant, the detector, the severity
    and what fired (``target``: feature, segment...), in any order.

    Computed once where the incident is decided; every later event of it carries the id.

    >>> a = incident_id("churn", "A", "feature_drift", "page", {"feature": "f2", "segment": "*"})
    >>> a == incident_id("churn", "A", "feature_drift", "page", {"segment": "*", "feature": "f2"})
    True
    >>> a == incident_id("churn", "B", "feature_drift", "page", {"feature": "f2", "segment": "*"})
    False
    """
    parts = (model, variant, detector, severity,
             *(f"{k}={v}" for k, v in sorted(target.items())))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
