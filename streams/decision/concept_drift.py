"""The concept-drift adapter: the outcome join's (labelled, errors) counts of a window
against the variant's baseline error rate."""

from __future__ import annotations

from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict
from streams.decision.window import GLOBAL, DecisionWindow
from streams.wire.events import DetectorReport


class ConceptDrift:
    """A one-sided binomial test of the window's error rate over the baseline."""

    detector = "concept_drift"

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        if not win.labelled:
            return []
        det = state.concept_detector(win.variant)
        v = det.update(win.label_errors, win.labelled)
        if v.baseline is None:
            return []
        evidence: Evidence = {
            "error_rate": round(v.rate, 6), "baseline": round(v.baseline, 6),
            "labelled": float(v.labelled), "errors": float(v.errors)}
        report = DetectorReport(
            detector=self.detector, model=win.model, variant=win.variant, segment=GLOBAL,
            window_start=win.window_start, window_end=win.window_end, n=v.labelled,
            statistic=v.rate, threshold=v.baseline + det.min_increase, p_value=v.p_value,
            decision="drift" if v.drift else "ok", evidence=evidence)
        return [Verdict(self.detector, report, v.drift, evidence)]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return (f"concept drift: error rate {evidence.get('error_rate')} over baseline "
                f"{evidence.get('baseline')} on {evidence.get('labelled')} labels")
