"""The accuracy-estimate adapter: a window's calibrated confidences (CBPE) against the
model's reference accuracy, before its labels arrive.

Partitions sum each prediction's calibrated chance of being right (and its variance);
the merged window gives :class:`~detectors.performance_estimate.AccuracyEstimate` its
estimate and band. The labels the outcome join merged into the same window set the
realised accuracy beside it (of the predictions whose labels arrived in the window: the
join's counts, not necessarily of this window's predictions). A drop beyond
``estimate_max_drop`` and the noise is a ticket, not a page (an estimate, not a measure),
and evidence for the retrain policy.
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.performance_estimate import AccuracyEstimate
from detectors.reference.performance import PerformanceReference
from streams.decision.config import DecisionConfig
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow

PerformanceLookup = Callable[[str], "PerformanceReference | None"]


class PerformanceEstimate:
    """Estimated accuracy per window; degraded when it drops below the reference."""

    detector = "performance_estimate"

    def __init__(self, references: PerformanceLookup | None, config: DecisionConfig) -> None:
        self.references = references
        self.config = config

    def estimate(self, win: DecisionWindow) -> AccuracyEstimate | None:
        """The window's estimate (None without a reference or estimated predictions)."""
        ref = self.references(win.model) if self.references is not None else None
        if ref is None or not win.estimated:
            return None
        est = AccuracyEstimate(ref.accuracy, self.config.estimate_max_drop,
                               self.config.estimate_z)
        est.add(win.estimated, win.confidence_sum, win.confidence_var)
        if win.labelled:
            est.add_labels(win.labelled - win.label_errors, win.labelled)
        return est

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        est = self.estimate(win)
        if est is None:
            return []
        low, high = est.band
        evidence: Evidence = {
            "estimated_accuracy": round(est.estimate, 6), "band_low": round(low, 6),
            "band_high": round(high, 6), "reference_accuracy": round(est.reference_accuracy, 6),
            "estimated": float(est.n)}
        if est.realised is not None:
            evidence["realised_accuracy"] = round(est.realised, 6)
            evidence["labelled"] = float(est.labelled)
        report = window_report(
            self.detector, win, n=est.n, statistic=est.estimate,
            threshold=est.reference_accuracy - est.max_drop, fired=est.degraded,
            change="drift", evidence=evidence)
        return [Verdict.of(report, severity="ticket")]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return (f"estimated accuracy {evidence.get('estimated_accuracy')} (band "
                f"{evidence.get('band_low')} to {evidence.get('band_high')}) below the "
                f"reference {evidence.get('reference_accuracy')}")
