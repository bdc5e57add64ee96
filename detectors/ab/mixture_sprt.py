"""The mixture SPRT for the difference between two arms, and its confidence sequence.

The difference of the arms' means, ``d``, is asymptotically normal around the true
difference ``theta`` with variance ``v = s_a^2 / n_a + s_b^2 / n_b``. The likelihood ratio
of ``theta`` against ``theta0``, mixed over ``theta - theta0 ~ N(0, tau^2)``, is

    Lambda = sqrt(v / (v + tau^2)) * exp(tau^2 (d - theta0)^2 / (2 v (v + tau^2))),

a martingale under ``theta0`` (Robbins; Johari et al., "Always valid inference", 2017), so
by Ville's inequality ``P(sup_t Lambda_t >= 1/alpha) <= alpha``: stop the first time it is
crossed, look after every event, and the false-decision rate stays at most ``alpha``.
Inverting it gives the confidence sequence ``d +/- halfwidth`` (Waudby-Smith et al. 2023,
eq. 9; GrowthBook's sequential engine), and ``1 / max Lambda`` is the always-valid p-value.

The mixing variance is tuned as GrowthBook does: ``tau^2 = v N rho^2`` with ``N`` the units
of both arms and ``rho^2 = (-2 log alpha + log(1 - 2 log alpha)) / tuning_n``, which makes
the interval tightest when ``N = tuning_n``. ``tuning_n`` defaults to 5,000 (GrowthBook's
default; Eppo's is 10,000): too small wastes power late, too large wastes it early.

A guardrail is one-sided: mixing over ``theta - theta0 ~ N+(0, tau^2)`` (the half normal)
gives ``Lambda+ = 2 Lambda Phi(b / sqrt(a))`` with ``a = 1/v + 1/tau^2``, ``b = (d-theta0)/v``,
a supermartingale under every ``theta <= theta0``.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
from scipy import optimize, special

from detectors.base import check_range

#: a float, or an array of them (the functions below are vectorised for the benchmark)
Num = TypeVar("Num", float, np.ndarray)

#: GrowthBook's default sample size (units of both arms) that the test is tuned for
DEFAULT_TUNING_N = 5_000


def rho_squared(alpha: float, tuning_n: float = DEFAULT_TUNING_N) -> float:
    """The mixing precision that makes the interval tightest at ``tuning_n`` units."""
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    check_range("tuning_n", tuning_n, 0.0, float("inf"), low_open=True)
    return (-2.0 * math.log(alpha) + math.log(1.0 - 2.0 * math.log(alpha))) / tuning_n


def mixing_variance(v: float, n_total: float, alpha: float,
                    tuning_n: float = DEFAULT_TUNING_N) -> float:
    """``tau^2 = v N rho^2``: the prior variance of the difference the test mixes over."""
    return v * n_total * rho_squared(alpha, tuning_n)


def log_likelihood_ratio(d: Num, v: Num, tau2: Num, theta0: float = 0.0) -> Num:
    """log Lambda: the two-sided normal-mixture likelihood ratio of ``theta0`` (vectorised).

    >>> bool(abs(log_likelihood_ratio(0.0, 1.0, 1.0) + 0.5 * math.log(2)) < 1e-12)
    True
    """
    z2 = (d - theta0) ** 2
    return 0.5 * np.log(v / (v + tau2)) + tau2 * z2 / (2.0 * v * (v + tau2))


def log_likelihood_ratio_greater(d: Num, v: Num, tau2: Num, theta0: float = 0.0) -> Num:
    """log Lambda+: the one-sided (half-normal mixture) ratio against ``theta <= theta0``."""
    a = 1.0 / v + 1.0 / tau2
    b = (d - theta0) / v
    return np.log(2.0) + log_likelihood_ratio(d, v, tau2, theta0) + \
        special.log_ndtr(b / np.sqrt(a))


def halfwidth(v: Num, tau2: Num, alpha: float) -> Num:
    """Half the width of the two-sided confidence sequence at level ``1 - alpha``."""
    return np.sqrt(2.0 * v * (v + tau2) / tau2 * np.log(np.sqrt((v + tau2) / v) / alpha))


def lower_bound_greater(d: float, v: float, tau2: float, alpha: float) -> float:
    """The one-sided lower confidence bound: the least ``theta0`` not rejected by Lambda+.

    ``log Lambda+`` falls as ``theta0`` rises, so the bound is where it equals
    ``log(1/alpha)``. Since ``Lambda <= Lambda+ <= 2 Lambda`` below ``d``, it lies between
    the two-sided lower bounds at levels ``alpha`` and ``2 alpha``.
    """
    target = -math.log(alpha)

    def excess(theta0: float) -> float:
        return float(log_likelihood_ratio_greater(d, v, tau2, theta0)) - target

    lo = float(d - halfwidth(v, tau2, alpha))
    hi = float(d - halfwidth(v, tau2, 2.0 * alpha)) if alpha < 0.5 else d
    if excess(lo) <= 0.0:  # only by rounding: the bracket's end is the bound
        return lo
    if excess(hi) >= 0.0:
        return hi
    return float(optimize.brentq(excess, lo, hi, xtol=1e-14 * (1.0 + abs(d)), rtol=1e-12))
