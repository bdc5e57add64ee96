"""The feature-drift adapter: a window's feature histograms, per segment, against the
model's training reference."""

from __future__ import annotations

from streams.decision.binned_drift import binned_verdict
from streams.decision.config import DecisionConfig
from streams.decision.judge import ReferenceLookup
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict
from streams.decision.window import GLOBAL, DecisionWindow


class FeatureDrift:
    """Input drift per (segment, feature); names the feature and segment that moved."""

    detector = "feature_drift"

    def __init__(self, references: ReferenceLookup, config: DecisionConfig) -> None:
        self.references = references
        self.config = config

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        ref = self.references(win.model)
        if ref is None or not win.histograms.get(GLOBAL):
            return []
        verdict = binned_verdict(self.detector, win, win.histograms, ref, self.config)
        return [] if verdict is None else [verdict]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return f"input drift in {evidence.get('feature')} (segment {evidence.get('segment')})"
