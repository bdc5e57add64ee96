"""Whether a candidate may replace the champion: its checks on the recent holdout.

:class:`Validator` is what the retrain job calls. :class:`PairedGate` is the one the
retrain worker uses: both models score the same recent holdout, and the candidate passes
the checks of :mod:`retrain.validation` (an accuracy gain of at least the margin under
McNemar's paired test, no declared segment worse beyond a tolerance, no batch-latency
regression beyond a tolerance); every check is a row of the ``validations`` table. A
regression's holdout (examples of kind ``value``) is judged by
:func:`retrain.regression_validation.validate_regression` instead: an MAE reduction of at
least the margin under a paired t-test on the rows' absolute errors.
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
from typing import Literal, Protocol

import numpy as np

from inference.predictor import Predictor
from retrain.cost_gate import COST_TOLERANCE, with_cost_check
from retrain.examples import LabelledExamples
from retrain.regression_validation import validate_regression
from retrain.validation import (
    ValidationPolicy,
    ValidationReport,
    time_batches,
    validate_candidate,
)

__all__ = ["GateReport", "HoldoutGate", "PairedGate", "Validator", "accuracy"]

#: rows of the holdout timed for the batch-latency check
_LATENCY_BATCH = 256


@dataclass(frozen=True)
class GateReport:
    """The verdict on a candidate and the figures behind it.

    ``champion_accuracy`` and ``candidate_accuracy`` are the two models' holdout figures
    of ``metric``: accuracy for a classifier, MAE for a regression (where lower is better
    and the margin is the MAE reduction as a share of the champion's).
    """

    passed: bool
    champion_accuracy: float
    candidate_accuracy: float
    margin: float
    n: int
    #: every check as (name, figure, threshold, passed); empty: the accuracy gain alone
    checks: tuple[tuple[str, float, float, bool], ...] = ()
    detail: str = ""
    metric: Literal["accuracy", "mae"] = "accuracy"

    @property
    def reason(self) -> str:
        verdict = "passed" if self.passed else "rejected"
        before, after = self.champion_accuracy, self.candidate_accuracy
        if self.metric == "mae":
            change = f"reduction {(before - after) / before if before else 0.0:+.4f}"
        else:
            change = f"gain {after - before:+.4f}"
        return (f"{verdict}: holdout {self.metric} {after:.4f} vs champion {before:.4f} "
                f"({change}, margin {self.margin}) on {self.n} recent examples{self.detail}")

    def figures(self) -> dict[str, float]:
        """Both models' figures named by the metric (``champion_mae``, ...), for a record."""
        return {f"champion_{self.metric}": self.champion_accuracy,
                f"candidate_{self.metric}": self.candidate_accuracy}

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
    """The checks of :func:`retrain.validation.validate_candidate` (of
    :func:`retrain.regression_validation.validate_regression` on a holdout of true
    values) under ``policy``, and
    the cost check of :mod:`retrain.cost_gate` (at most ``1 + cost_tolerance`` times the
    champion's CPU per prediction)."""

    policy: ValidationPolicy
    cost_tolerance: float = COST_TOLERANCE

    def validate(self, champion: Predictor, candidate: Predictor,
                 holdout: LabelledExamples) -> GateReport:
        x_old, x_new = _columns(champion, holdout), _columns(candidate, holdout)
        before, after = champion.predict_batch(x_old), candidate.predict_batch(x_new)
        latency = time_batches(lambda _: champion.predict_batch(x_old[:_LATENCY_BATCH]),
                               lambda _: candidate.predict_batch(x_new[:_LATENCY_BATCH]),
                               x_old[:_LATENCY_BATCH])
        if holdout.kind == "value":
            old, new = _values(before.values, "champion"), _values(after.values, "candidate")
            checks = validate_regression(holdout.labels, old, new, self.policy,
                                         latency=latency)
            figures = (float(np.abs(old - holdout.labels).mean()),
                       float(np.abs(new - holdout.labels).mean()))
        else:
            old, new = before.labels, after.labels
            checks = validate_candidate(holdout.labels, old, new, self.policy, latency=latency)
            figures = (float(np.mean(old == holdout.labels)),
                       float(np.mean(new == holdout.labels)))
        report = with_cost_check(checks, champion.predict_batch, candidate.predict_batch,
                                 x_old[:_LATENCY_BATCH], x_new[:_LATENCY_BATCH],
                                 self.cost_tolerance)
        return self._verdict(report, figures, len(holdout),
                             "mae" if holdout.kind == "value" else "accuracy")

    def _verdict(self, report: ValidationReport, figures: tuple[float, float], n: int,
                 metric: Literal["accuracy", "mae"]) -> GateReport:
        """The gate's report of ``report``'s checks, their p-values and what failed."""
        pvalues = [f"; {c.name} p {c.p_value:.3g}" for c in report.checks
                   if c.p_value is not None]
        failed = f"; failed: {', '.join(report.failed)}" if report.failed else ""
        failed += "".join(f" ({c.detail})" for c in report.checks  # the figures of a refusal
                          if c.name == "cost" and not c.passed)
        return GateReport(
            report.passed, *figures, self.policy.margin, n,
            checks=tuple((c.name, c.figure, c.threshold, c.passed) for c in report.checks),
            detail="".join(pvalues) + failed, metric=metric)


def _values(values: np.ndarray | None, who: str) -> np.ndarray:
    """A regression's predicted values; a model that answers none cannot be judged on MAE."""
    if values is None:
        raise ValueError(f"the holdout holds true values (a regression's) but the {who} "
                         "answers no values: is it a classifier?")
    return values
