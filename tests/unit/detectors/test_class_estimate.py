"""CBPE for k classes: expected counts against Monte Carlo draws of the labels, merging,
and the one-vs-rest calibration against its closed form."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.performance_estimate import (
    ClassEstimate,
    calibrate_classes,
    fit_class_calibration,
)
from detectors.probability_calibration import IsotonicCalibration


def _probabilities(rng: np.random.Generator, n: int, k: int = 4) -> np.ndarray:
    z = rng.normal(0, 1.5, (n, k))
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_the_estimates_are_the_mean_of_recall_and_precision_over_drawn_labels() -> None:
    rng = np.random.default_rng(0)
    q = _probabilities(rng, 4000)
    pred = q.argmax(axis=1)
    est = ClassEstimate(4)
    est.update_many(q, pred)
    tp, pos, acc = np.zeros(4), np.zeros(4), []
    for _ in range(400):  # labels drawn from q: the calibrated premise holds exactly
        y = (rng.random((4000, 1)) > q.cumsum(axis=1)).sum(axis=1).clip(0, 3)
        tp += np.bincount(y[pred == y], minlength=4)
        pos += np.bincount(y, minlength=4)
        acc.append(np.mean(pred == y))
    np.testing.assert_allclose(est.true_positive, tp / 400, rtol=0.01)
    np.testing.assert_allclose(est.recall, tp / pos, rtol=0.01)
    np.testing.assert_allclose(est.precision, tp / 400 / np.bincount(pred, minlength=4),
                               rtol=0.01)
    assert est.accuracy == pytest.approx(np.mean(acc), abs=0.002)
    # the band's standard error is the spread of the realised accuracy
    low, high = est.accuracy_band
    assert (high - low) / 6 == pytest.approx(np.std(acc), rel=0.15)


def test_partitions_merge_into_the_union() -> None:
    rng = np.random.default_rng(1)
    q = _probabilities(rng, 1000)
    whole, left, right = ClassEstimate(4), ClassEstimate(4), ClassEstimate(4)
    whole.update_many(q, q.argmax(axis=1))
    left.update_many(q[:300], q[:300].argmax(axis=1))
    right.update_many(q[300:], q[300:].argmax(axis=1))
    left.merge(right)
    assert left.n == whole.n and left.accuracy == pytest.approx(whole.accuracy, abs=1e-12)
    np.testing.assert_allclose(left.recall, whole.recall, atol=1e-12)
    np.testing.assert_allclose(left.precision, whole.precision, atol=1e-12)


def test_the_one_vs_rest_calibration_is_each_columns_isotonic_fit_normalised() -> None:
    rng = np.random.default_rng(2)
    p = _probabilities(rng, 500, 3)
    y = rng.integers(0, 3, 500)
    cals = fit_class_calibration(p, y)
    raw = np.column_stack([IsotonicCalibration.fit(p[:, k], y == k)(p[:, k])
                           for k in range(3)])
    expected = raw / raw.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(calibrate_classes(p, cals), expected, atol=1e-12)


def test_bad_inputs_name_what_is_wrong() -> None:
    est = ClassEstimate(3)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        est.update_many(np.ones((2, 4)) / 4, [0, 1])
    with pytest.raises(ValueError, match=r"0\.\.2"):
        est.update_many(np.ones((1, 3)) / 3, [3])
    with pytest.raises(ValueError, match="k >= 2"):
        fit_class_calibration(np.ones((3, 1)), [0, 0, 0])
    assert np.isnan(ClassEstimate(2).accuracy)
