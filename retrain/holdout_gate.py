"""Whether a candidate may replace the champion: holdout accuracy gain (a seam).

:class:`Validator` is what the retrain job calls; :class:`HoldoutGate` is the
implementation it uses until the paired tests (McNemar, segments, latency) of
``retrain.validation`` are wired in its place. Both models score the same recent
holdout; the candidate passes when its accuracy beats the champion's by ``margin``.

Examples
--------
>>> import numpy as np
>>> from inference.predictor import PredictionBatch
>>> class Fixed:
...     features = ("x",)
...     def __init__(self, labels): self.labels = np.array(labels)
...     def predict_batch(self, f):
...         p = np.stack([1 - self.labels, self.labels], axis=1).astype(float)
...         return PredictionBatch.from_probabilities(p, 0.0)
>>> from retrain.examples import LabelledExamples
>>> hold = LabelledExamples(np.arange(4.0), np.zeros((4, 1)), np.array([1, 1, 0, 0]), ("x",))
>>> report = HoldoutGate(margin=0.2).validate(Fixed([1, 0, 1, 0]), Fixed([1, 1, 0, 1]), hold)
>>> report.passed, report.champion_accuracy, report.candidate_accuracy
(True, 0.5, 0.75)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inference.predictor import Predictor
from retrain.examples import LabelledExamples

__all__ = ["GateReport", "HoldoutGate", "Validator", "accuracy"]


@dataclass(frozen=True)
class GateReport:
    """The verdict on a candidate and the figures behind it."""

    passed: bool
    champion_accuracy: float
    candidate_accuracy: float
    margin: float
    n: int

    @property
    def reason(self) -> str:
        gain = self.candidate_accuracy - self.champion_accuracy
        verdict = "passed" if self.passed else "rejected"
        return (f"{verdict}: holdout accuracy {self.candidate_accuracy:.4f} vs champion "
                f"{self.champion_accuracy:.4f} (gain {gain:+.4f}, margin {self.margin}) "
                f"on {self.n} recent examples")

    def rows(self) -> list[tuple[str, float, float, bool]]:
        """One ``(check, value, threshold, passed)`` row per check, for the validations table."""
        gain = self.candidate_accuracy - self.champion_accuracy
        return [("accuracy_gain", gain, self.margin, self.passed)]


class Validator(Protocol):
    """Judges a candidate against the champion on the same holdout."""

    def validate(self, champion: Predictor, candidate: Predictor,
                 holdout: LabelledExamples) -> GateReport: ...


def accuracy(predictor: Predictor, examples: LabelledExamples) -> float:
    """Share of ``examples`` that ``predictor`` labels right."""
    cols = [examples.names.index(name) for name in predictor.features]
    predicted = predictor.predict_batch(examples.features[:, cols]).labels
    return float(np.mean(predicted == examples.labels))


@dataclass(frozen=True)
class HoldoutGate:
    """Passes a candidate whose holdout accuracy beats the champion's by ``margin``."""

    margin: float

    def validate(self, champion: Predictor, candidate: Predictor,
                 holdout: LabelledExamples) -> GateReport:
        before, after = accuracy(champion, holdout), accuracy(candidate, holdout)
        return GateReport(after - before >= self.margin, before, after, self.margin,
                          len(holdout))
