"""CUPED and ratio metrics against numpy on explicit unit values, GrowthBook's formulas,
and coverage over replicates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from detectors.ab.bivariate import BivariateSummary, pooled
from detectors.ab.cuped import adjusted, adjusted_arms, pooled_theta
from detectors.ab.experiment import ExperimentTest
from detectors.ab.mixture_sprt import halfwidth, mixing_variance
from detectors.ab.ratio import linearised_arm, ratio_difference, ratio_of_means


def _units(rng: np.random.Generator, n: int, rho: float, lift: float
           ) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(10.0, 2.0, n)
    y = 10.0 + lift + rho * (x - 10.0) + math.sqrt(1 - rho * rho) * rng.normal(0.0, 2.0, n)
    return y, x


def _summary(y: np.ndarray, x: np.ndarray) -> BivariateSummary:
    s = BivariateSummary()
    s.update_many(y=y, x=x)
    return s


def test_moments_match_numpy_and_partitions_merge_exactly() -> None:
    rng = np.random.default_rng(0)
    y, x = _units(rng, 5000, 0.5, 0.0)
    s = _summary(y, x)
    assert (s.mean_y, s.mean_x) == pytest.approx((y.mean(), x.mean()), rel=1e-12)
    assert (s.var_y, s.var_x) == pytest.approx((y.var(), x.var()), rel=1e-9)
    assert s.cov == pytest.approx(np.cov(y, x, ddof=0)[0, 1], rel=1e-9)
    parts = [_summary(y[i], x[i]) for i in np.array_split(np.arange(5000), 4)]
    assert pooled(*parts).snapshot() == pytest.approx(s.snapshot(), rel=1e-12)
    with pytest.raises(ValueError, match="y has 2 values but x has 1"):
        s.update_many([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        s.update_many([math.nan], [1.0])


def test_theta_is_the_pooled_regression_slope_and_gbstats_formula() -> None:
    rng = np.random.default_rng(1)
    ya, xa = _units(rng, 3000, 0.5, 0.0)
    yb, xb = _units(rng, 2000, 0.5, 0.4)
    theta = pooled_theta(_summary(ya, xa), _summary(yb, xb))
    y, x = np.r_[ya, yb], np.r_[xa, xb]
    assert theta == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-9)
    # gbstats.models.statistics.compute_theta: joint sample covariance over joint variance
    n = y.size
    gb = ((x * y).sum() - x.sum() * y.sum() / n) / ((x * x).sum() - x.sum() ** 2 / n)
    assert theta == pytest.approx(gb, rel=1e-9)
    assert pooled_theta(_summary([1.0, 2.0], [3.0, 3.0]), BivariateSummary()) == 0.0


def test_the_adjusted_summary_is_that_of_the_adjusted_values() -> None:
    rng = np.random.default_rng(2)
    y, x = _units(rng, 4000, 0.5, 0.0)
    a = adjusted(_summary(y, x), 0.47, 9.8)
    z = y - 0.47 * (x - 9.8)
    assert a.n == 4000
    assert a.mean == pytest.approx(z.mean(), rel=1e-12)
    assert a.variance == pytest.approx(z.var(), rel=1e-8)


def test_cuped_removes_rho_squared_of_the_variance_and_keeps_the_difference() -> None:
    rng = np.random.default_rng(3)
    ya, xa = _units(rng, 200_000, 0.5, 0.0)
    yb, xb = _units(rng, 200_000, 0.5, 0.3)
    a, b, theta = adjusted_arms(_summary(ya, xa), _summary(yb, xb))
    assert theta == pytest.approx(0.5, abs=0.01)
    assert a.variance / ya.var() == pytest.approx(0.75, abs=0.01)
    assert b.mean - a.mean == pytest.approx(0.3, abs=4 * math.sqrt(2 * 3.0 / 200_000))


def test_cuped_keeps_the_type_one_error_of_the_fixed_look() -> None:
    rng = np.random.default_rng(4)
    z = []
    for _ in range(2000):
        a, b, _theta = adjusted_arms(_summary(*_units(rng, 300, 0.5, 0.0)),
                                     _summary(*_units(rng, 300, 0.5, 0.0)))
        z.append((b.mean - a.mean) / math.sqrt(a.variance / a.n + b.variance / b.n))
    rejected = np.mean(np.abs(z) > stats.norm.isf(0.025))
    assert rejected <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2000), rejected


def _ratio_units(rng: np.random.Generator, n: int, per_session: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Users: sessions 1 + Poisson(2), revenue per session gamma with a per-user taste."""
    sessions = 1 + rng.poisson(2.0, n)
    taste = rng.gamma(2.0, 0.5, n)
    revenue = rng.gamma(sessions * 2.0, per_session * taste / 2.0)
    return revenue, sessions.astype(float)


def test_the_delta_method_variance_is_that_of_the_linearised_values() -> None:
    rng = np.random.default_rng(5)
    y, x = _ratio_units(rng, 3000, 4.0)
    r = ratio_of_means(_summary(y, x))
    lin = (y - r.estimate * x) / x.mean()
    assert r.estimate == pytest.approx(y.sum() / x.sum(), rel=1e-12)
    assert r.variance == pytest.approx(lin.var() / 3000, rel=1e-8)
    # GrowthBook's RatioStatistic: the same with n - 1 denominators
    m, d = y.mean(), x.mean()
    gb = (np.var(y, ddof=1) / d ** 2 - 2 * np.cov(y, x)[0, 1] * m / d ** 3
          + m * m * np.var(x, ddof=1) / d ** 4) / 3000
    assert r.variance == pytest.approx(gb * 2999 / 3000, rel=1e-8)
    with pytest.raises(ValueError, match="denominator"):
        ratio_of_means(_summary([1.0], [0.0]))


def test_the_ratio_interval_covers_the_true_ratio_at_its_nominal_rate() -> None:
    rng = np.random.default_rng(6)
    covered, covered_diff = 0, 0
    for _ in range(2000):
        a, b = (_summary(*_ratio_units(rng, 400, r)) for r in (4.0, 4.4))
        lo, hi = ratio_of_means(a).interval(0.05)
        covered += lo <= 4.0 <= hi
        lo, hi = ratio_difference(a, b).interval(0.05)
        covered_diff += lo <= 0.4 <= hi
    slack = 3 * math.sqrt(0.05 * 0.95 / 2000)
    assert abs(covered / 2000 - 0.95) <= slack, covered
    assert abs(covered_diff / 2000 - 0.95) <= slack, covered_diff


def test_the_linearised_arms_feed_the_always_valid_test_with_the_delta_variance() -> None:
    rng = np.random.default_rng(7)
    a, b = (_summary(*_ratio_units(rng, 5000, r)) for r in (4.0, 4.6))
    test = ExperimentTest("revenue_per_session", primary_binary=False)
    test.champion["revenue_per_session"] = linearised_arm(a)
    test.challenger["revenue_per_session"] = linearised_arm(b)
    test.srm.update([5000, 5000])
    decision = test.decide()
    diff = ratio_difference(a, b)
    w = halfwidth(diff.variance, mixing_variance(diff.variance, 10_000, 0.05), 0.05)
    assert decision.action == "promote"
    assert decision.estimate == pytest.approx(diff.estimate, rel=1e-9)
    assert (decision.lower, decision.upper) == pytest.approx(
        (diff.estimate - w, diff.estimate + w), rel=1e-9)
