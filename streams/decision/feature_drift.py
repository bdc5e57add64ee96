"""The feature-drift adapter: a window's feature histograms, per segment, against the
model's training reference.

A drift that fires also ranks what moved by its estimated cost to the model
(:mod:`detectors.cause_ranking`: the segment's share x the feature's permutation importance
on the reference x how much of its mass moved); the alert's summary names the top three
(evidence ``causes``), so on-call looks first where the model is hurt, not where PSI is
largest. Without the version's importance file (a version published before it existed,
an outside model) there is no cost to rank by: the alert is as before, its evidence
listing the top shifts by PSI.

Where the model has a performance reference (a classifier's calibration), the monitors
sum each segment's calibrated confidences too, and each segment's costs are rescaled to
its label-free estimated accuracy drop (:func:`estimated_drops`; the module docs of
:mod:`detectors.cause_ranking` say why): of two segments that moved alike, the one whose
estimated accuracy fell ranks first.
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.cause_ranking import describe_causes, rank_causes, top_causes
from detectors.reference.importance import ReferenceImportance
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import ReferenceProfile
from streams.decision.binned_drift import binned_verdict
from streams.decision.config import DecisionConfig
from streams.decision.judge import ReferenceLookup
from streams.decision.performance_estimate import PerformanceLookup
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict
from streams.decision.window import GLOBAL, DecisionWindow


class FeatureDrift:
    """Input drift per (segment, feature); names the feature and segment that moved."""

    detector = "feature_drift"

    def __init__(self, references: ReferenceLookup, config: DecisionConfig,
                 importance: ImportanceLookup | None = None,
                 performance: PerformanceLookup | None = None) -> None:
        self.references = references
        self.config = config
        self.importance = importance
        self.performance = performance

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        ref = self.references(win.model)
        if ref is None or not win.histograms.get(GLOBAL):
            return []
        verdict = binned_verdict(self.detector, win, win.histograms, ref, self.config)
        if verdict is None:
            return []
        imp = None if self.importance is None else self.importance(win.model)
        if verdict.bad and imp is not None:  # the report carries it too: the report shows it
            perf = self.performance(win.model) if self.performance else None
            verdict.evidence["causes"] = ranked_causes(win, ref, imp, perf)
        return [verdict]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        causes = f"; {evidence['causes']}" if "causes" in evidence else ""
        return (f"input drift in {evidence.get('feature')} (segment {evidence.get('segment')})"
                f"{causes}")


#: the permutation importance of the version a model serves (None: none saved)
ImportanceLookup = Callable[[str], "ReferenceImportance | None"]


#: fewest estimated predictions a segment's accuracy estimate needs to weigh its causes:
#: under it the mean confidence of a handful of rows says little, and the first-order
#: cost stands
MIN_ESTIMATED = 30


def ranked_causes(win: DecisionWindow, ref: ReferenceProfile, importance: ReferenceImportance,
                  performance: PerformanceReference | None = None) -> str:
    """The line naming the three costliest features (and segments) that moved."""
    causes = rank_causes(win.histograms, dict(zip(ref.names, ref.counts, strict=True)),
                         dict(zip(importance.names, importance.importance, strict=True)),
                         estimated_drops(win, performance, importance.loss))
    return describe_causes(top_causes(causes), importance.loss)


def estimated_drops(win: DecisionWindow, performance: PerformanceReference | None,
                    loss: str) -> dict[str, float] | None:
    """Per segment (``*``: the window) with enough estimated predictions, the reference
    accuracy minus its CBPE estimate (the mean calibrated chance of being right); None
    without a performance reference, or when the importance measures another loss than
    the error rate (an accuracy drop is not in its units).

    The reference accuracy is the version's, over all its holdout: it is not kept per
    segment, so a segment that was always harder than the rest shows a drop of its own.
    """
    if performance is None or loss != "error_rate":
        return None
    sums = {seg: (float(v[0]), float(v[1])) for seg, v in win.segment_confidence.items()}
    sums[GLOBAL] = (float(win.estimated), win.confidence_sum)
    return {seg: performance.accuracy - total / n for seg, (n, total) in sums.items()
            if n >= MIN_ESTIMATED}
