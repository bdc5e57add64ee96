"""The prediction-drift adapter: a window's model scores against their distribution on the
training rows."""

from __future__ import annotations

from streams.decision.binned_drift import binned_verdict
from streams.decision.config import DecisionConfig
from streams.decision.judge import ReferenceLookup
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict
from streams.decision.window import GLOBAL, DecisionWindow


class PredictionDrift:
    """Output drift: the model's scores over the bins of its training-time scores."""

    detector = "prediction_drift"

    def __init__(self, references: ReferenceLookup | None, config: DecisionConfig) -> None:
        self.references = references
        self.config = config

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        ref = self.references(win.model) if self.references else None
        if ref is None or not win.outputs:
            return []
        verdict = binned_verdict(self.detector, win, {GLOBAL: win.outputs}, ref, self.config)
        return [] if verdict is None else [verdict]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return f"prediction drift in {evidence.get('feature')}"
