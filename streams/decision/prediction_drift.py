"""The prediction-drift adapter: a window's model outputs against their distribution on the
training rows.

The outputs are the score (binned at its reference deciles) and, for a multi-class model
whose output reference holds a ``class`` column (one bin per class), the predicted
classes. All are tested as one family (:func:`~streams.decision.binned_drift.
binned_verdict`); when the classes drift, the verdict also names the class that moved
(:func:`detectors.confusion.class_drift`: the largest contribution to the chi-square
statistic) with its share in the window and in the reference.
"""

from __future__ import annotations

from detectors.confusion import CLASS_OUTPUT as CLASS
from detectors.confusion import class_drift
from streams.decision.binned_drift import binned_verdict
from streams.decision.config import DecisionConfig
from streams.decision.judge import ReferenceLookup
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict
from streams.decision.window import GLOBAL, DecisionWindow


class PredictionDrift:
    """Output drift: the model's scores, and classes, over the bins of its training-time
    outputs; names the class that moved."""

    detector = "prediction_drift"

    def __init__(self, references: ReferenceLookup | None, config: DecisionConfig) -> None:
        self.references = references
        self.config = config

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        ref = self.references(win.model) if self.references else None
        if ref is None or not win.outputs:
            return []
        verdict = binned_verdict(self.detector, win, {GLOBAL: win.outputs}, ref, self.config)
        if verdict is None:
            return []
        counts = win.outputs.get(CLASS)
        if verdict.evidence.get("feature") == CLASS and counts is not None \
                and CLASS in ref.names and counts.sum() > 0:
            reference = ref.counts[ref.names.index(CLASS)]
            if len(reference) == len(counts):
                shift = class_drift(counts, reference, alpha=self.config.drift_alpha,
                                    min_psi=self.config.drift_min_psi)
                # the report shares this dict: the alert and the record both name the class
                verdict.evidence.update({
                    "class": shift.label, "share": round(shift.window_share, 4),
                    "expected": round(shift.reference_share, 4)})
        return [verdict]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        """The alert's one-line summary: the output, and the class that moved if any."""
        if "class" not in evidence:
            return f"prediction drift in {evidence.get('feature')}"
        return (f"prediction drift over the classes: class {evidence.get('class')} predicted "
                f"for {float(evidence.get('share', 0.0)):.1%} of inputs (reference "
                f"{float(evidence.get('expected', 0.0)):.1%})")
