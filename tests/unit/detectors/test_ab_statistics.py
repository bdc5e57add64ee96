"""The A/B statistics against closed forms, scipy, and GrowthBook's engine on fixed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.stats import dirichlet_multinomial, multinomial

from detectors.ab.arm import ArmSummary
from detectors.ab.mixture_sprt import (
    halfwidth,
    log_likelihood_ratio,
    log_likelihood_ratio_greater,
    lower_bound_greater,
    mixing_variance,
    rho_squared,
)
from detectors.ab.srm import SequentialSRM, log_bayes_factor


def _mixture_by_quadrature(d: float, v: float, tau2: float, theta0: float,
                           one_sided: bool) -> float:
    """The mixture likelihood ratio as its defining integral, computed by scipy."""
    def integrand(theta: float) -> float:
        ratio = stats.norm.pdf(d, theta0 + theta, math.sqrt(v)) / \
            stats.norm.pdf(d, theta0, math.sqrt(v))
        prior = stats.halfnorm.pdf(theta, scale=math.sqrt(tau2)) if one_sided else \
            stats.norm.pdf(theta, 0.0, math.sqrt(tau2))
        return float(ratio * prior)
    lo = 0.0 if one_sided else -40 * math.sqrt(tau2)
    value, _ = integrate.quad(integrand, lo, 40 * math.sqrt(tau2), limit=400, epsabs=0,
                              epsrel=1e-11)
    return value


@pytest.mark.parametrize(("d", "v", "tau2", "theta0"), [
    (0.01, 1e-4, 4e-4, 0.0), (-0.03, 2e-4, 1e-3, 0.0), (0.02, 5e-5, 1e-4, 0.005),
    (0.0, 1e-3, 1e-3, 0.0)])
def test_the_mixture_likelihood_ratios_equal_their_integrals(d: float, v: float, tau2: float,
                                                             theta0: float) -> None:
    two = math.exp(log_likelihood_ratio(d, v, tau2, theta0))
    one = math.exp(float(log_likelihood_ratio_greater(d, v, tau2, theta0)))
    assert two == pytest.approx(_mixture_by_quadrature(d, v, tau2, theta0, False), rel=1e-8)
    assert one == pytest.approx(_mixture_by_quadrature(d, v, tau2, theta0, True), rel=1e-8)


def test_the_interval_ends_are_where_the_ratio_reaches_one_over_alpha() -> None:
    d, v, tau2, alpha = 0.013, 4e-5, 2e-4, 0.05
    w = halfwidth(v, tau2, alpha)
    for end in (d - w, d + w):
        assert log_likelihood_ratio(d, v, tau2, end) == pytest.approx(-math.log(alpha), 1e-10)
    lower = lower_bound_greater(d, v, tau2, alpha)
    assert float(log_likelihood_ratio_greater(d, v, tau2, lower)) == pytest.approx(
        -math.log(alpha), rel=1e-9)
    assert d - w < lower < d  # one-sided is tighter on its side


def test_the_interval_and_p_value_equal_growthbooks_on_fixed_inputs() -> None:
    # gbstats 0.8.0, SequentialTwoSidedTTest(ProportionStatistic(n=2999, sum=100),
    # ProportionStatistic(n=1000, sum=110), SequentialConfig(difference_type="absolute"))
    ci = (0.044964335004847145, 0.1083467686963866)
    p_growthbook = 1.9380230147170339e-10
    a, b = ArmSummary(binary=True), ArmSummary(binary=True)
    a.add(2999, 100)
    b.add(1000, 110)
    d = b.mean - a.mean
    v = a.variance / a.n + b.variance / b.n
    tau2 = mixing_variance(v, a.n + b.n, 0.05)
    w = halfwidth(v, tau2, 0.05)
    assert (d - w, d + w) == pytest.approx(ci, rel=1e-9)
    assert math.exp(-log_likelihood_ratio(d, v, tau2)) == pytest.approx(p_growthbook, 1e-7)


def test_rho_is_growthbooks_and_bad_tuning_is_refused() -> None:
    alpha = 0.05
    expected = (-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / 5000
    assert rho_squared(alpha) == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="tuning_n"):
        rho_squared(alpha, 0)


def test_the_srm_bayes_factor_is_the_ratio_of_scipys_pmfs() -> None:
    shares = np.array([0.5, 0.3, 0.2])
    for counts in ([10, 4, 6], [520, 480, 0], [3000, 1900, 1100]):
        ours = float(log_bayes_factor(counts, shares, 200.0))
        n = sum(counts)
        direct = dirichlet_multinomial.logpmf(counts, 200.0 * shares, n) - \
            multinomial.logpmf(counts, n, shares)
        assert ours == pytest.approx(direct, rel=1e-9, abs=1e-9)


def test_srm_flags_a_52_48_split_and_keeps_its_running_p_value() -> None:
    srm = SequentialSRM([0.5, 0.5], level=0.001)
    rng = np.random.default_rng(7)
    flagged_at = None
    for step in range(1, 400):
        served = rng.binomial(100, 0.52)
        srm.update([served, 100 - served])
        if srm.mismatch and flagged_at is None:
            flagged_at = step * 100
    assert flagged_at is not None and flagged_at < 40_000
    assert srm.p_value == pytest.approx(min(1.0, math.exp(-srm.max_log_bf)))
    with pytest.raises(ValueError, match="shares"):
        SequentialSRM([0.6, 0.6])


def test_arm_summaries_merge_to_numpys_moments() -> None:
    rng = np.random.default_rng(3)
    x = rng.lognormal(0.0, 1.0, 1000)
    parts = [ArmSummary() for _ in range(4)]
    for part, chunk in zip(parts, np.array_split(x, 4), strict=True):
        part.update_many(chunk)
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert merged.n == 1000
    assert merged.mean == pytest.approx(x.mean(), rel=1e-12)
    assert merged.variance == pytest.approx(x.var(), rel=1e-9)
    with pytest.raises(ValueError, match="binary"):
        ArmSummary(binary=True).update_many([0.5])
