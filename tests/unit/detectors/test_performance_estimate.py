"""CBPE: the isotonic calibration against its min-max closed form, and the accuracy
estimate and its band against closed forms and simulated labels."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from scipy import stats

from detectors.performance_estimate import AccuracyEstimate
from detectors.probability_calibration import IsotonicCalibration, correct_chance, fit_reference

IDENTITY = IsotonicCalibration((0.0, 1.0), (0.0, 1.0))


def _isotonic_min_max(y: np.ndarray) -> np.ndarray:
    """The least-squares non-decreasing fit in closed form (no PAV):
    ``f_i = max_{j <= i} min_{k >= i} mean(y[j..k])``."""
    n = y.size
    csum = np.concatenate(([0.0], np.cumsum(y)))
    out = np.empty(n)
    for i in range(n):
        out[i] = max(min((csum[k + 1] - csum[j]) / (k + 1 - j) for k in range(i, n))
                     for j in range(i + 1))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_the_calibration_is_the_min_max_isotonic_fit_at_the_reference_scores(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.random(60)
    outcomes = (rng.random(60) < scores).astype(float)
    cal = IsotonicCalibration.fit(scores, outcomes)
    order = np.argsort(scores)
    expected = _isotonic_min_max(outcomes[order])
    np.testing.assert_allclose(cal(scores[order]), expected, atol=1e-12)
    # an isotonic fit keeps the mean of what it fits
    assert cal(scores).mean() == pytest.approx(outcomes.mean(), abs=1e-12)


def test_tied_scores_are_pooled_before_the_fit() -> None:
    cal = IsotonicCalibration.fit([0.5, 0.5, 0.5, 0.9], [1, 0, 0, 1])
    assert cal(np.array([0.5, 0.9])).tolist() == pytest.approx([1 / 3, 1.0])


def test_the_calibration_recovers_a_distorted_probability() -> None:
    rng = np.random.default_rng(7)
    truth = rng.random(200_000)
    labels = (rng.random(truth.size) < truth).astype(int)
    cal = fit_reference(truth ** 2, labels)  # an over-confident-low, monotone distortion
    grid = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(cal(grid ** 2), grid, atol=0.03)


def test_the_estimate_of_calibrated_probabilities_is_the_mean_of_max_p() -> None:
    p = np.array([0.9, 0.2, 0.55, 0.5, 0.01])
    est = AccuracyEstimate(reference_accuracy=0.8)
    est.update_many(correct_chance(p, IDENTITY))
    assert est.estimate == pytest.approx(np.maximum(p, 1 - p).mean(), abs=1e-15)
    c = np.maximum(p, 1 - p)
    assert est.standard_error == pytest.approx(np.sqrt((c * (1 - c)).sum()) / p.size)


def test_multiclass_chance_is_the_calibrated_top_probability() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    cal = IsotonicCalibration((0.0, 0.5, 1.0), (0.0, 0.25, 0.5))
    assert correct_chance(p, cal).tolist() == pytest.approx([0.35, 0.2])
    labels = np.array([0, 2, 1, 1])
    fitted = fit_reference(np.vstack([p, p]), labels)
    # top-label: the 0.4 rows are right once in two, the 0.7 rows once in two
    assert fitted(np.array([0.4, 0.7])).tolist() == pytest.approx([0.5, 0.5])


def test_the_band_covers_the_realised_accuracy_as_a_normal_would() -> None:
    """Perfectly calibrated probabilities: over many seeded windows the realised accuracy
    minus the estimate, in standard errors, is standard normal, and the 3-sigma band
    holds it about 99.7% of the time."""
    z_scores, inside = [], 0
    for seed in range(600):
        rng = np.random.default_rng(seed)
        p = rng.beta(2.0, 2.0, 400)
        labels = (rng.random(p.size) < p).astype(int)
        est = AccuracyEstimate(reference_accuracy=0.7)
        est.update_many(correct_chance(p, IDENTITY))
        est.add_labels(int(((p > 0.5) == labels).sum()), p.size)
        assert est.realised is not None
        low, high = est.band
        inside += low <= est.realised <= high
        z_scores.append((est.realised - est.estimate) / est.standard_error)
    z = np.array(z_scores)
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert 0.9 < z.std() < 1.1
    assert stats.kstest(z, "norm").pvalue > 0.001
    assert inside / z.size >= 0.99


def test_partition_parts_merge_to_the_estimate_of_the_union() -> None:
    rng = np.random.default_rng(3)
    c = rng.uniform(0.5, 1.0, 1000)
    whole = AccuracyEstimate(0.8)
    whole.update_many(c)
    merged = AccuracyEstimate(0.8)
    for part in np.array_split(c, 6):
        piece = AccuracyEstimate(0.8)
        for x in part[:10]:
            piece.update(float(x))
        piece.update_many(part[10:])
        piece.add_labels(3, 5)
        merged.merge(piece)
    assert merged.n == whole.n
    assert merged.estimate == pytest.approx(whole.estimate, rel=1e-12)
    assert merged.band == pytest.approx(whole.band, rel=1e-12)
    assert merged.realised == pytest.approx(0.6)


def test_a_drop_beyond_the_threshold_and_the_noise_is_degraded() -> None:
    est = AccuracyEstimate(reference_accuracy=0.9, max_drop=0.05)
    est.update_many(np.full(20, 0.8))  # 0.10 below, but 20 rows: the band reaches 0.9
    assert est.band[1] >= 0.9 and not est.degraded and not est.drift_detected
    est.update_many(np.full(2000, 0.8))
    assert est.degraded and est.drift_detected
    est.reset()
    est.update_many(np.full(5000, 0.87))  # below the reference, within the tolerance
    assert not est.degraded


def test_snapshot_and_restore_round_trip_through_the_wire() -> None:
    est = AccuracyEstimate(0.85, max_drop=0.03, z=2.0)
    est.update_many(np.random.default_rng(0).uniform(0.6, 1.0, 300))
    est.add_labels(200, 250)
    snap = msgspec.json.decode(msgspec.json.encode(est.snapshot()))
    copy = AccuracyEstimate(0.85, max_drop=0.03, z=2.0)
    copy.restore(snap)
    assert (copy.estimate, copy.band, copy.realised, copy.degraded) == \
        (est.estimate, est.band, est.realised, est.degraded)
    with pytest.raises(ValueError, match="parameters"):
        AccuracyEstimate(0.9).restore(snap)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"reference_accuracy": 1.5}, "reference_accuracy"),
    ({"reference_accuracy": 0.9, "max_drop": -0.1}, "max_drop"),
    ({"reference_accuracy": 0.9, "z": 0.0}, "z")])
def test_bad_hyper_parameters_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        AccuracyEstimate(**kwargs)


def test_bad_inputs_are_refused() -> None:
    est = AccuracyEstimate(0.9)
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        est.update_many([0.5, 1.2])
    with pytest.raises(ValueError, match="correct"):
        est.add_labels(5, 3)
    with pytest.raises(ValueError, match="probabilities"):
        IsotonicCalibration.fit([0.2, 2.0], [0, 1])
    with pytest.raises(ValueError, match="shape"):
        correct_chance(np.zeros((3, 1)), IDENTITY)
    assert est.n == 0 and np.isnan(est.estimate)
