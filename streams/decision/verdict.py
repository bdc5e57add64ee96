"""One detector's judgement of one window, before alert hysteresis turns it into events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from streams.wire.events import DetectorReport

Evidence = dict[str, float | str]
Severity = Literal["page", "ticket"]


@dataclass
class Verdict:
    """What a detector adapter says of a window.

    ``report`` (when not None) goes to the detector-reports topic; ``bad`` (when not None) feeds
    the alert rule of ``(variant, detector, severity)``. ``target`` names what fired
    (``feature``, ``segment``), computed where it is decided and carried unchanged by every
    later event of the incident; ``now`` gives, per target, the evidence of this window,
    so that a resolve can state what the fired target looks like now. ``variant`` names
    another variant than the judged window's when the verdict is about that one (an
    experiment's champion window tells whether a rolled-back challenger is still served).
    """

    detector: str
    report: DetectorReport | None
    bad: bool | None
    evidence: Evidence
    severity: Severity = "page"
    target: dict[str, str] = field(default_factory=dict)
    now: dict[str, Evidence] = field(default_factory=dict)
    variant: str | None = None


def target_key(target: dict[str, str]) -> str:
    """A target as one string, the key of :attr:`Verdict.now`.

    >>> target_key({"segment": "region=eu", "feature": "f2"})
    'feature=f2|segment=region=eu'
    """
    return "|".join(f"{k}={v}" for k, v in sorted(target.items()))
