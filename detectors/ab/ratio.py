"""Ratio metrics (revenue per session, clicks per view): the delta method, per arm and apart.

The unit of assignment (a user) carries a numerator ``y`` (revenue) and a denominator ``x``
(sessions); the metric is ``R = sum y / sum x = mean y / mean x``. Units are independent,
sessions of one user are not, so the variance is the unit-level delta method (Deng et al.,
"Applying the delta method in metric analytics", 2018):

    var(R_hat) ~ (var Y - 2 R cov(Y, X) + R^2 var X) / (n mean(X)^2),

the variance of the mean of the linearised values ``(y - R x) / mean x``. Arms are
independent, so the variance of the difference of their ratios is the sum. GrowthBook's
``RatioStatistic`` computes the same (with ``n - 1`` denominators); ``bench/ratio_coverage.py``
measures the intervals' coverage of the true ratio.

:func:`linearised_arm` turns an arm's ratio into an ordinary continuous
:class:`~detectors.ab.arm.ArmSummary` whose mean is ``R`` and whose per-unit variance is the
delta method's, so the existing always-valid test judges ratio metrics unchanged.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy import stats

from detectors.ab.arm import ArmSummary
from detectors.ab.bivariate import BivariateSummary
from detectors.base import check_range


class RatioEstimate(NamedTuple):
    """A ratio (or a difference of ratios) with the delta method's variance of it."""

    estimate: float
    variance: float
    n: int

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        """The two-sided normal interval at level ``1 - alpha`` (one look, fixed ``n``)."""
        check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
        w = float(stats.norm.isf(alpha / 2.0)) * math.sqrt(self.variance)
        return self.estimate - w, self.estimate + w


def ratio_of_means(arm: BivariateSummary) -> RatioEstimate:
    """``mean y / mean x`` of one arm and its delta-method variance.

    >>> s = BivariateSummary(); s.update_many(y=[2.0, 0.0, 9.0, 4.0], x=[1, 1, 3, 2])
    >>> r = ratio_of_means(s); round(r.estimate, 4), round(r.variance, 5)
    (2.1429, 0.23074)
    """
    if arm.n == 0 or arm.mean_x == 0.0:
        raise ValueError(f"the denominator's mean is {arm.mean_x} over {arm.n} units: "
                         "a ratio needs units with a positive denominator")
    r = arm.mean_y / arm.mean_x
    per_unit = max(arm.var_y - 2.0 * r * arm.cov + r * r * arm.var_x, 0.0) / arm.mean_x ** 2
    return RatioEstimate(r, per_unit / arm.n, arm.n)


def ratio_difference(champion: BivariateSummary,
                     challenger: BivariateSummary) -> RatioEstimate:
    """The challenger's ratio minus the champion's, with the sum of their variances."""
    a, b = ratio_of_means(champion), ratio_of_means(challenger)
    return RatioEstimate(b.estimate - a.estimate, a.variance + b.variance, a.n + b.n)


def linearised_arm(arm: BivariateSummary) -> ArmSummary:
    """A continuous :class:`ArmSummary` with mean ``R`` and the delta method's variance.

    Its variance over its count is the variance of ``R`` (the ML variance, as the arm
    summaries use), so the always-valid test's ``v = s_a^2 / n_a + s_b^2 / n_b`` is the
    delta method's variance of the difference.

    >>> s = BivariateSummary(); s.update_many(y=[2.0, 0.0, 9.0, 4.0], x=[1, 1, 3, 2])
    >>> a = linearised_arm(s); round(a.mean, 4), round(a.variance / a.n, 5)
    (2.1429, 0.23074)
    """
    r = ratio_of_means(arm)
    per_unit = r.variance * r.n
    out = ArmSummary()
    out.add(r.n, r.n * r.estimate, r.n * (per_unit + r.estimate ** 2))
    return out
