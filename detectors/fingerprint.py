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
