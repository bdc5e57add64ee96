"""The beta-binomial confidence sequence for a Bernoulli mean: exact, valid at every look.

After ``n`` Bernoulli trials with ``k`` successes, the Bayes factor of a Beta(a, b) mixture
against the point ``p``,

    BF(p) = B(a + k, b + n - k) / B(a, b) / (p^k (1 - p)^(n - k)),

is a nonnegative martingale with mean 1 when the trials are independent with mean ``p``
(the mixture's marginal likelihood over the likelihood at ``p``). By Ville's inequality
``P(sup_n BF_n(p) >= 1/alpha) <= alpha``, whatever the stopping rule and without any
normal approximation, so

    C_n = {p : BF_n(p) < 1 / alpha}

is a confidence sequence: it holds the true mean at every ``n`` at once with probability at
least ``1 - alpha`` (Robbins 1970; Howard et al., "Time-uniform, nonparametric, nonasymptotic
confidence sequences", 2021, sec. 3). ``log BF(p)`` is convex in ``p`` with its least value,
at most 0, at ``k / n``, so ``C_n`` is an interval around ``k / n`` found by two root
searches. The prior sets only where the test is quickest, never its validity; the SRM test
(:mod:`detectors.ab.srm`) is the same construction for several arms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special

from detectors.base import check_range

_TINY, _EPS = 1e-300, 2.0**-53


def log_bayes_factor(k: Any, n: Any, p: float, a: float, b: float) -> np.ndarray:
    """log BF(p) of ``k`` successes in ``n`` trials under a Beta(a, b) mixture (vectorised).

    >>> round(float(log_bayes_factor(0, 0, 0.5, 1.0, 1.0)), 12)
    0.0
    >>> round(float(log_bayes_factor(10, 10, 0.5, 1.0, 1.0)), 4)  # log(2^10 / 11)
    4.5336
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    log_mixture = special.betaln(a + k, b + n - k) - special.betaln(a, b)
    log_point = special.xlogy(k, p) + special.xlog1py(n - k, -p)
    return np.asarray(log_mixture - log_point)


def confidence_sequence(k: int, n: int, a: float, b: float,
                        alpha: float) -> tuple[float, float]:
    """The interval ``{p : BF_n(p) < 1/alpha}`` after ``k`` successes in ``n`` trials.

    >>> lo, hi = confidence_sequence(30, 100, 1.0, 1.0, 0.05)
    >>> bool(lo < 0.3 < hi), round(lo, 3), round(hi, 3)  # wider than a fixed-n interval
    (True, 0.169, 0.457)
    """
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, n], got k={k} of n={n}")
    if n == 0:
        return 0.0, 1.0
    target = -math.log(alpha)

    def excess(p: float) -> float:
        return float(log_bayes_factor(k, n, p, a, b)) - target

    mle = k / n
    # the ends themselves give infinite excess when k > 0 (or k < n): search just inside
    # (and a bound closer to an end than doubles resolve is that end)
    lower = 0.0 if excess(_TINY) < 0.0 else _root(excess, _TINY, mle)
    upper = 1.0 if excess(1.0 - _EPS) < 0.0 else _root(excess, mle, 1.0 - _EPS)
    return lower, upper


def _root(excess: Any, lo: float, hi: float) -> float:
    """Where ``excess`` crosses 0 between ``lo`` and ``hi`` (its signs differ at the ends)."""
    if excess(lo) * excess(hi) > 0.0:  # only by rounding at the MLE: the MLE is the end
        return lo if abs(excess(lo)) < abs(excess(hi)) else hi
    return float(optimize.brentq(excess, lo, hi, xtol=1e-300, rtol=1e-14))
