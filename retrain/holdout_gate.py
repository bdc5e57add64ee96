"""Whether a candidate may replace the champion: its checks on the recent holdout.

:class:`Validator` is what the retrain job calls. :class:`PairedGate` is the one the
retrain worker uses: both models score the same recent holdout, and the candidate passes
the checks of :mod:`retrain.validation` (an accuracy gain of at least the margin under
McNemar's paired test, no declared segment worse beyond a tolerance, no batch-latency
regression beyond a tolerance); every check is a row of the ``validations`` table.
:class:`HoldoutGate` is the plain accuracy gain alone (tests and benchmarks).

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
from retrain.cost_gate import COST_TOLERANCE, with_cost_check
from retrain.examples import LabelledExamples
from retrain.validation import ValidationPolicy, time_batches, validate_candidate

__all__ = ["GateReport", "HoldoutGate", "PairedGate", "Validator", "accuracy"]

#: rows of the holdout timed for the batch-latency check
_LATENCY_BATCH = 256


@dataclass(frozen=True)
class GateReport:
    """The verdict on a candidate and the figures behind it."""

    passed: bool
    champion_accuracy: float
    candidate_accuracy: float
    margin: float
    n: int
    #: every check as (name, figure, threshold, passed); empty: the accuracy gain alone
    checks: tuple[tuple[str, float, float, bool], ...] = ()
    detail: str = ""

    @property
    def reason(self) -> str:
        gain = self.candidate_accuracy - self.champion_accuracy
        verdict = "passed" if self.passed else "rejected"
        return (f"{verdict}: holdout accuracy {self.candidate_accuracy:.4f} vs champion "
                f"{self.champion_accuracy:.4f} (gain {gain:+.4f}, margin {self.margin}) "
                f"on {self.n} recent examples{self.detail}")

    def rows(self) -> list[tuple[str, float, float, bool]]:
        """One ``(check, value, threshold, passed)`` row per check, for the validations table."""
        if self.checks:
            return list(self.checks)
        gain = self.candidate_accuracy - self.champion_accuracy
        return [("accuracy_gain", gain, self.margin, self.passed)]


class Validator(Protocol):
    """Judges a candidate against the champion on the same holdout."""

    def validate(self, champion: Predictor, candidate: Predictor,
                 holdout: LabelledExamples) -> GateReport: ...


def _columns(predictor: Predictor, examples: LabelledExamples) -> np.ndarray:
    """``examples``' features in the columns ``predictor`` reads, in its order."""
    return examples.features[:, [examples.names.index(name) for name in predictor.features]]


def accuracy(predictor: Predictor, examples: LabelledExamples) -> float:
    """Share of ``examples`` that ``predictor`` labels right."""
    predicted = predictor.predict_batch(_columns(predictor, examples)).labels
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


@dataclass(frozen=True)
class PairedGate:
    """The checks of :func:`retrain.validation.validate_candidate` under ``policy``, and
    the cost check of :mod:`retrain.cost_gate` (at most ``1 + cost_tolerance`` times the
    champion's CPU per prediction)."""

    policy: ValidationPolicy
    cost_tolerance: float = COST_TOLERANCE

    def validate(self, champion: Predictor, candidate: Predictor,
                 holdout: LabelledExamples) -> GateReport:
        x_old, x_new = _columns(champion, holdout), _columns(candidate, holdout)
        old = champion.predict_batch(x_old).labels
        new = candidate.predict_batch(x_new).labels
        latency = time_batches(lambda _: champion.predict_batch(x_old[:_LATENCY_BATCH]),
                               lambda _: candidate.predict_batch(x_new[:_LATENCY_BATCH]),
                               x_old[:_LATENCY_BATCH])
        report = with_cost_check(
            validate_candidate(holdout.labels, old, new, self.policy, latency=latency),
            champion.predict_batch, candidate.predict_batch, x_old[:_LATENCY_BATCH],
            x_new[:_LATENCY_BATCH], self.cost_tolerance)
        pvalues = [f"; {c.name} p {c.p_value:.3g}" for c in report.checks
                   if c.p_value is not None]
        failed = f"; failed: {', '.join(report.failed)}" if report.failed else ""
        failed += "".join(f" ({c.detail})" for c in report.checks  # the figures of a refusal
                          if c.name == "cost" and not c.passed)
        return GateReport(
            report.passed, float(np.mean(old == holdout.labels)),
            float(np.mean(new == holdout.labels)), self.policy.margin, len(holdout),
            checks=tuple((c.name, c.figure, c.threshold, c.passed) for c in report.checks),
            detail="".join(pvalues) + failed)
