"""Concept drift on labelled outcomes: window error rates against a frozen baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.error_rate import ErrorRateShift


def test_p_value_is_scipys_one_sided_binomial_test() -> None:
    det = ErrorRateShift(baseline_labelled=1000)
    det.update(100, 1000)
    verdict = det.update(18, 100)
    assert verdict.baseline == 0.1
    assert verdict.p_value == pytest.approx(
        stats.binomtest(18, 100, 0.1, alternative="greater").pvalue, rel=1e-12)


def test_a_stable_error_rate_never_drifts_and_a_jump_does_at_once() -> None:
    rng = np.random.default_rng(3)
    det = ErrorRateShift(baseline_labelled=1000, alpha=0.001, min_increase=0.05)
    det.update(int(rng.binomial(1000, 0.1)), 1000)
    stable = [det.update(int(rng.binomial(300, 0.1)), 300).drift for _ in range(500)]
    # alpha=0.001 one-sided and a 5-point floor: P(false alarm) per window < 1e-3
    assert sum(stable) <= 2
    shifted = [det.update(int(rng.binomial(300, 0.3)), 300).drift for _ in range(20)]
    assert all(shifted)


def test_snapshot_restore_and_bad_parameters() -> None:
    det = ErrorRateShift(baseline_labelled=10)
    det.update(3, 10)
    clone = ErrorRateShift(baseline_labelled=10)
    clone.restore(det.snapshot())
    assert clone.baseline == det.baseline == 0.3
    with pytest.raises(ValueError, match="alpha must be in"):
        ErrorRateShift(alpha=0.0)
    with pytest.raises(ValueError, match="errors <= labelled"):
        det.update(5, 3)
