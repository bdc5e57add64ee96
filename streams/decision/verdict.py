"""One detector's judgement of one window, before alert hysteresis turns it into events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from streams.decision.window import GLOBAL, DecisionWindow
from streams.wire.events import DetectorReport

Evidence = dict[str, float | str]
Severity = Literal["page", "ticket"]
#: what a report's decision says when its detector fired: a distribution moved (``drift``)
#: or a bound was crossed (``breach``); ``ok`` when it did not fire
Change = Literal["drift", "breach"]


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

    @classmethod
    def of(cls, report: DetectorReport, *, severity: Severity = "page",
           target: dict[str, str] | None = None,
           now: dict[str, Evidence] | None = None) -> Verdict:
        """The verdict a report states: by its detector, bad when its decision is not
        ``ok``, with its evidence."""
        return cls(report.detector, report, report.decision != "ok", report.evidence,
                   severity=severity, target=target or {}, now=now or {})


def window_report(detector: str, win: DecisionWindow, *, n: int, statistic: float,
                  threshold: float, fired: bool, change: Change, evidence: Evidence,
                  p_value: float | None = None, segment: str = GLOBAL) -> DetectorReport:
    """The report of ``detector`` on ``win``: the window's model, variant and span, with
    what the detector measured.

    Parameters
    ----------
    detector, win
        Who judged, and which window.
    n
        The observations the statistic is over (the window's predictions, or the share of
        them the detector saw: labelled, embedded, checked).
    statistic, threshold, p_value
        What was measured, the bound it is compared with, and its p-value if a test gave one.
    fired, change
        Whether the detector fired; the report's decision is ``change`` if so, else ``ok``.
    evidence
        What an alert shows of the window.
    segment
        The segment the report is about (``*``: the whole window).

    Examples
    --------
    >>> win = DecisionWindow("churn", "A", opened=0.0, n=500, window_start=1.0, window_end=2.0)
    >>> r = window_report("latency_quantile", win, n=win.n, statistic=0.3, threshold=0.25,
    ...                   fired=True, change="breach", evidence={})
    >>> (r.model, r.variant, r.segment, r.window_end, r.n, r.decision, r.p_value)
    ('churn', 'A', '*', 2.0, 500, 'breach', None)
    """
    return DetectorReport(
        detector=detector, model=win.model, variant=win.variant, segment=segment,
        window_start=win.window_start, window_end=win.window_end, n=n, statistic=statistic,
        threshold=threshold, p_value=p_value, decision=change if fired else "ok",
        evidence=evidence)


def target_key(target: dict[str, str]) -> str:
    """A target as one string, the key of :attr:`Verdict.now`.

    >>> target_key({"segment": "region=eu", "feature": "f2"})
    'feature=f2|segment=region=eu'
    """
    return "|".join(f"{k}={v}" for k, v in sorted(target.items()))
