"""Calibrated thresholds give the targeted false-alarm rate on fresh null streams."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.calibration import alarm_rate, bootstrap_streams, calibrate
from detectors.change import CUSUM, PageHinkley


def test_bootstrap_is_seeded_and_draws_reference_blocks() -> None:
    ref = np.arange(100.0)
    a = bootstrap_streams(ref, 3, 50, seed=1, block=5)
    assert np.array_equal(a, bootstrap_streams(ref, 3, 50, seed=1, block=5))
    assert not np.array_equal(a, bootstrap_streams(ref, 3, 50, seed=2, block=5))
    assert np.all(np.diff(a.reshape(3, 10, 5), axis=2) == 1.0)  # blocks are contiguous


@pytest.mark.parametrize("target_run_length", [500.0, 2000.0])
def test_cusum_false_alarm_rate_on_fresh_streams(target_run_length: float) -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=20_000)

    def factory(h: float) -> CUSUM:
        return CUSUM(threshold=h, mean=0.0, std=1.0)

    cal = calibrate(factory, ref, run_length=target_run_length, low=0.5, high=30.0,
                    n_streams=20, length=int(200 * target_run_length) // 20, seed=1)
    assert cal.realised_rate <= 1 / target_run_length
    fresh = np.random.default_rng(99).normal(size=(10, int(100 * target_run_length) // 10))
    alarms = alarm_rate(factory, cal.threshold, fresh) * fresh.size
    # ~100 alarms are expected. Alarm counts of a renewal process with a near-geometric
    # run length are close to Poisson(100): P(X < 60 or X > 140) < 1e-4, and the
    # calibration's own sampling error (~200 alarms, 7% relative) widens that a little.
    assert 60 <= alarms <= 140


def test_calibration_rejects_a_bracket_that_cannot_meet_the_target() -> None:
    ref = np.random.default_rng(1).normal(size=1000)
    with pytest.raises(ValueError, match="raise high"):
        calibrate(lambda h: PageHinkley(threshold=h), ref, false_alarm_rate=1e-6,
                  low=0.1, high=0.2, n_streams=2, length=2000)
    with pytest.raises(ValueError, match="exactly one"):
        calibrate(lambda h: PageHinkley(threshold=h), ref, low=1.0, high=2.0)
