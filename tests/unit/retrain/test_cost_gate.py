"""The cost check: models whose forward pass burns a known CPU time, compared by validation.

The champion burns 2 ms of CPU per 256-row batch, a costly candidate 6 ms (3x): its
figure is 6 / 2 = 3 within 20% (the meter's µs and the label arithmetic are the rest),
above the limit of 2x, and the refusal names both figures.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from inference.predictor import PredictionBatch
from retrain.cost_gate import cost_check, cpu_per_thousand
from retrain.examples import LabelledExamples
from retrain.holdout_gate import PairedGate
from retrain.validation import ValidationPolicy

ROWS = 256


class Burner:
    """A classifier that answers ``labels`` after burning ``burn_s`` of CPU per batch."""

    features = ("x",)

    def __init__(self, burn_s: float, right: bool) -> None:
        self.burn_s, self.right = burn_s, right

    def predict_batch(self, features: np.ndarray) -> PredictionBatch:
        end = time.thread_time() + self.burn_s
        while time.thread_time() < end:
            pass
        truth = (features[:, 0] > 0).astype(float)
        labels = truth if self.right else 1 - truth
        return PredictionBatch.from_probabilities(np.stack([1 - labels, labels], axis=1), 0.0)


def holdout(n: int = 600) -> LabelledExamples:
    x = np.random.default_rng(3).normal(size=(n, 1))
    return LabelledExamples(np.arange(float(n)), x, (x[:, 0] > 0).astype(np.int64), ("x",))


def test_cpu_per_thousand_is_the_burn_shared_by_rows() -> None:
    batch = np.ones((ROWS, 1))
    old, new = cpu_per_thousand(Burner(0.002, True).predict_batch,
                                Burner(0.006, True).predict_batch, batch, repeats=9)
    assert old == pytest.approx(0.002 / ROWS * 1000, rel=0.2)
    assert new == pytest.approx(0.006 / ROWS * 1000, rel=0.2)
    assert new / old == pytest.approx(3.0, rel=0.2)


def test_a_candidate_three_times_as_costly_is_refused_naming_the_figure() -> None:
    gate = PairedGate(ValidationPolicy(margin=0.01, latency_tolerance=1000.0))
    report = gate.validate(Burner(0.002, right=False), Burner(0.006, right=True), holdout())
    checks = {name: (figure, threshold, passed) for name, figure, threshold, passed
              in report.checks}
    assert checks["accuracy"][2] and checks["latency"][2]  # better, and time not judged
    figure, threshold, passed = checks["cost"]
    assert not passed and threshold == 2.0 and figure == pytest.approx(3.0, rel=0.2)
    assert not report.passed
    assert "failed: cost (CPU seconds per 1,000 predictions: candidate" in report.reason
    assert f"({figure:.2f}x, limit 2.00x)" in report.reason


def test_a_user_who_allows_a_costlier_model_raises_the_tolerance() -> None:
    gate = PairedGate(ValidationPolicy(margin=0.01, latency_tolerance=1000.0),
                      cost_tolerance=9.0)
    report = gate.validate(Burner(0.002, right=False), Burner(0.006, right=True), holdout())
    assert report.passed and ("cost", 10.0) in [(c[0], c[2]) for c in report.checks]


def test_a_candidate_as_costly_as_the_champion_passes() -> None:
    gate = PairedGate(ValidationPolicy(margin=0.01, latency_tolerance=1000.0))
    report = gate.validate(Burner(0.002, right=False), Burner(0.002, right=True), holdout())
    assert report.passed, report.reason


def test_a_free_champion_makes_any_cost_infinite_and_a_bad_tolerance_is_named() -> None:
    assert not cost_check(champion_per_1k=0.0, candidate_per_1k=0.1).passed
    with pytest.raises(ValueError, match="cost tolerance must be >= 0"):
        cost_check(champion_per_1k=1.0, candidate_per_1k=1.0, tolerance=-1)
