"""Calibrated CUSUMs: the targeted false-alarm rate on fresh streams, a shorter delay
than ADWIN on a seeded shift, and the Bernoulli CUSUM against its plain recursion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.calibration import alarm_rate, calibrate
from detectors.change import ADWIN, CUSUM, BernoulliCUSUM
from detectors.change.base import ChangeDetector


def _errors(rng: np.random.Generator, rate: float, n: int) -> np.ndarray:
    return (rng.random(n) < rate).astype(float)


def test_bernoulli_cusum_matches_the_plain_recursion() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([_errors(rng, 0.1, 3000), _errors(rng, 0.3, 2000)])
    det = BernoulliCUSUM(odds_ratio=2.5, threshold=1e9, warm_start=500)
    det.update_many(values)
    p0 = (values[:500].sum() + 0.5) / 501
    odds = p0 / (1 - p0)
    up = down = 0.0
    for x in values[500:]:
        for p1, side in ((odds * 2.5, "up"), (odds / 2.5, "down")):
            p1 = p1 / (1 + p1)
            llr = math.log(p1 / p0) if x else math.log((1 - p1) / (1 - p0))
            if side == "up":
                up = max(0.0, up + llr)
            else:
                down = max(0.0, down + llr)
    assert det.p0 == p0
    assert det.statistic == pytest.approx(max(up, down), rel=1e-9)


@pytest.mark.parametrize("kind", ["binary", "real"])
def test_calibrated_false_alarm_rate_on_fresh_in_control_streams(kind: str) -> None:
    run_length = 2000.0

    def factory(h: float) -> ChangeDetector:
        if kind == "binary":
            return BernoulliCUSUM(threshold=h, warm_start=300)
        return CUSUM(threshold=h, warm_start=300)

    def draw(seed: int, shape: tuple[int, int]) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return _errors(rng, 0.1, shape[0] * shape[1]).reshape(shape) if kind == "binary" \
            else rng.normal(size=shape)

    reference = draw(0, (1, 20_000))[0]
    cal = calibrate(factory, reference, run_length=run_length, low=0.5, high=40.0,
                    n_streams=20, length=20_000, seed=1, iterations=20)
    assert cal.realised_rate <= 1 / run_length
    fresh = draw(99, (10, 20_000))  # fresh in-control draws, not the bootstrap
    alarms = alarm_rate(factory, cal.threshold, fresh) * fresh.size
    # ~100 alarms are expected (200,000 values / 2,000). A renewal count with a
    # near-geometric run length is close to Poisson(100): P(X < 60 or X > 140) < 1e-4;
    # the calibration's own sampling error (~200 alarms, 7% relative) widens it a little.
    assert 60 <= alarms <= 140


def _first_alarm(det: ChangeDetector, values: np.ndarray, change: int) -> int | None:
    hits = det.update_many(values)
    assert not (hits < change).any(), "a false alarm before the change"
    return int(hits[0]) - change if hits.size else None


@pytest.mark.parametrize("kind", ["binary", "real"])
def test_shorter_delay_than_adwin_on_a_seeded_shift(kind: str) -> None:
    """Thresholds are the ones ``bench/drift.py`` calibrated to one false alarm per 10^7
    values on in-control data (14.94 and 14.85, rounded up)."""
    change, delays_ours, delays_adwin = 20_000, [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        if kind == "binary":
            values = np.concatenate([_errors(rng, 0.1, change), _errors(rng, 0.3, 2000)])
            ours: ChangeDetector = BernoulliCUSUM(odds_ratio=3.0, threshold=14.9,
                                                  warm_start=4000)
        else:
            values = np.concatenate([rng.normal(0, 1, change), rng.normal(1, 1, 2000)])
            ours = CUSUM(k=0.5, threshold=15.0, warm_start=1000)
        delays_ours.append(_first_alarm(ours, values, change))
        delays_adwin.append(_first_alarm(ADWIN(), values, change))
    assert None not in delays_ours and None not in delays_adwin
    assert np.mean(delays_ours) < np.mean(delays_adwin), (delays_ours, delays_adwin)
