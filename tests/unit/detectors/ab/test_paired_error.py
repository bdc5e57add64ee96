"""The paired absolute-error test against Robbins' closed form, scipy and coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from detectors.ab.mixture_sprt import log_likelihood_ratio, mixing_variance, rho_squared
from detectors.ab.paired_error import PLUG_IN_TEST, SUB_GAUSSIAN_TEST, PairedErrorTest

ALPHA = 0.05


def _robbins_halfwidth(n: np.ndarray, sigma: float, c: float) -> np.ndarray:
    """The normal-mixture boundary for a sigma-sub-Gaussian mean, lambda ~ N(0, c)."""
    grow = 1.0 + c * sigma * sigma * n
    return np.sqrt(2.0 * grow / c * np.log(np.sqrt(grow) / ALPHA)) / n


def _pairs(rng: np.random.Generator, n: int, gain: float) -> tuple[np.ndarray, ...]:
    truth = rng.normal(size=n)
    shared = rng.normal(0.0, 1.0, n)
    champion = truth + shared
    shadow = truth + (1.0 - gain) * shared + rng.normal(0.0, 0.1, n)
    return champion, shadow, truth


def test_the_estimate_and_the_sub_gaussian_interval_match_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    champion, shadow, truth = _pairs(rng, 700, 0.1)
    sigma = 3.0
    t = PairedErrorTest(sigma=sigma, min_pairs=1)
    t.observe(champion, shadow, truth)
    v = t.decide()
    d = np.abs(champion - truth) - np.abs(shadow - truth)
    assert v.test == SUB_GAUSSIAN_TEST and v.labelled == 700
    assert v.estimate == pytest.approx(d.mean(), rel=1e-12)
    w = _robbins_halfwidth(np.array(700.0), sigma, rho_squared(ALPHA) / sigma ** 2)
    assert (v.upper - v.lower) / 2 == pytest.approx(float(w), rel=1e-10)


def test_the_sub_gaussian_sequence_covers_bounded_differences_at_every_look() -> None:
    rng = np.random.default_rng(1)
    sigma, mean, looks = 1.0, 0.3, 3000
    d = rng.uniform(mean - sigma, mean + sigma, (3000, looks))
    n = np.arange(1, looks + 1)
    w = _robbins_halfwidth(n, sigma, rho_squared(ALPHA) / sigma ** 2)
    missed = (np.abs(np.cumsum(d, axis=1) / n - mean) >= w).any(axis=1)
    assert missed.mean() <= ALPHA, missed.mean()


def test_the_plug_in_test_keeps_its_type_one_error_at_a_look_per_pair() -> None:
    rng = np.random.default_rng(2)
    d = rng.standard_t(5, (3000, 4000))  # equal models: heavy-ish tails, mean 0
    n = np.arange(100, 4001)  # from min_pairs on, as the test decides
    s1, s2 = np.cumsum(d, axis=1)[:, 99:], np.cumsum(d * d, axis=1)[:, 99:]
    mean = s1 / n
    v = (s2 / n - mean ** 2) / n
    tau2 = mixing_variance(v, n, ALPHA)
    crossed = log_likelihood_ratio(mean, v, tau2) >= -math.log(ALPHA)
    assert crossed.any(axis=1).mean() <= ALPHA
    t = PairedErrorTest()
    t.differences.update_many(d[0])
    assert t.decide().test == PLUG_IN_TEST


@pytest.mark.parametrize(("gain", "expected"), [(0.15, "better"), (-0.15, "worse")])
def test_the_direction_agrees_with_a_paired_t_test(gain: float, expected: str) -> None:
    rng = np.random.default_rng(3)
    champion, shadow, truth = _pairs(rng, 3000, gain)
    t = PairedErrorTest()
    for idx in np.array_split(np.arange(3000), 30):  # a look every 100 labels
        t.observe(champion[idx], shadow[idx], truth[idx])
        v = t.decide()
    ref = stats.ttest_rel(np.abs(champion - truth), np.abs(shadow - truth))
    assert v.outcome == expected and ref.pvalue < 1e-6
    assert np.sign(ref.statistic) == (1 if expected == "better" else -1)
    assert v.lower <= v.estimate <= v.upper


def test_no_decision_before_min_pairs_and_snapshots_resume() -> None:
    rng = np.random.default_rng(4)
    champion, shadow, truth = _pairs(rng, 400, 0.5)
    t = PairedErrorTest(min_pairs=200)
    t.observe(champion[:150], shadow[:150], truth[:150])
    assert t.decide().outcome == "undecided" and math.isinf(t.decide().upper)
    copy = PairedErrorTest(min_pairs=200)
    copy.restore(t.snapshot())
    for obj in (t, copy):
        obj.observe(champion[150:], shadow[150:], truth[150:])
    assert copy.decide() == t.decide() and t.decide().outcome == "better"
    with pytest.raises(ValueError, match="outcome must be one of"):
        copy.restore(t.snapshot() | {"outcome": "promoted"})
    with pytest.raises(ValueError, match="truth"):
        t.observe([1.0], [1.0], [1.0, 2.0])


@pytest.mark.parametrize(("params", "name"), [({"sigma": 0.0}, "sigma"),
                                              ({"min_pairs": 0}, "min_pairs"),
                                              ({"tuning_n": -5}, "tuning_n")])
def test_bad_parameters_name_themselves(params: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be"):
        PairedErrorTest(**params)  # type: ignore[arg-type]
