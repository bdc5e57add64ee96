"""The concept-drift adapter: the outcome join's (labelled, errors) counts of a window
against the variant's baseline error rate."""

from __future__ import annotations

from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow


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
        report = window_report(
            self.detector, win, n=v.labelled, statistic=v.rate,
            threshold=v.baseline + det.min_increase, p_value=v.p_value, fired=v.drift,
            change="drift", evidence=evidence)
        return [Verdict.of(report)]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return (f"concept drift: error rate {evidence.get('error_rate')} over baseline "
                f"{evidence.get('baseline')} on {evidence.get('labelled')} labels")
