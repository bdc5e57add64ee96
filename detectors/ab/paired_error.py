"""A regression shadow against the champion: the paired difference of absolute errors.

Each labelled request gives ``d = |champion error| - |shadow error|`` (positive where the
shadow is closer). The shadow is better when the mean of ``d`` is above 0. The differences
are summarised as one continuous :class:`~detectors.ab.arm.ArmSummary` (count, sum, sum of
squares: partitions merge by adding), and judged by the normal-mixture confidence sequence
of :mod:`detectors.ab.mixture_sprt` with ``v = s^2 / n`` and the mixing variance tuned for
``tuning_n`` pairs. Two readings, by what is assumed of ``d``:

- ``sigma`` given: the differences are ``sigma``-sub-Gaussian around their mean (true of any
  ``d`` in ``[m - sigma, m + sigma]``, Hoeffding's lemma; so errors clipped to ``[0, B]``
  give ``sigma = B``). Then ``v = sigma^2 / n`` and the mixing variance ``tau^2 = sigma^2
  rho^2`` is fixed, so the likelihood ratio is Robbins' normal-mixture supermartingale and
  the sequence is valid at every ``n``, with no approximation (Howard et al. 2021, sec. 3).
- ``sigma`` None (the default): the plug-in variance ``s^2`` of the differences, the
  asymptotic confidence sequence (Waudby-Smith et al. 2023, eq. 9) the A/B test already
  uses; it needs finite variance, its coverage is asymptotic, so no decision is taken
  before ``min_pairs`` pairs.

The pairing is what pays: ``var(d) = var|e_a| + var|e_b| - 2 cov(|e_a|, |e_b|)``, and two
models fitted to the same data make correlated errors, so ``var(d)`` is much less than the
variance two independent arms carry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from detectors.ab.arm import ArmSummary
from detectors.ab.mixture_sprt import (
    DEFAULT_TUNING_N,
    halfwidth,
    log_likelihood_ratio,
    mixing_variance,
)
from detectors.ab.paired import Outcome, PairedVerdict, checked_outcome
from detectors.base import check_range

SUB_GAUSSIAN_TEST = "normal-mixture-sub-gaussian"
PLUG_IN_TEST = "normal-mixture-asymptotic"


class PairedErrorTest:
    """The always-valid paired test of a regression shadow on absolute error.

    ``estimate`` (and ``effect``) is the mean absolute error saved by the shadow.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=2000); base = rng.normal(0, 1.0, 2000)
    >>> t = PairedErrorTest()
    >>> t.observe(champion=y + base, shadow=y + 0.8 * base, truth=y)
    >>> v = t.decide(); v.outcome, bool(v.lower > 0)
    ('better', True)
    """

    def __init__(self, alpha: float = 0.05, tuning_n: float = DEFAULT_TUNING_N,
                 sigma: float | None = None, min_pairs: int = 100) -> None:
        check_range("alpha", alpha, 0.0, 0.5, low_open=True, high_open=True)
        check_range("tuning_n", tuning_n, 0.0, float("inf"), low_open=True)
        if sigma is not None:
            check_range("sigma", sigma, 0.0, float("inf"), low_open=True)
        check_range("min_pairs", min_pairs, 1, float("inf"))
        self.alpha = alpha
        self.tuning_n = tuning_n
        self.sigma = sigma
        self.min_pairs = min_pairs
        self._reset()

    def _reset(self) -> None:
        self.differences = ArmSummary()
        self.p_value = 1.0
        self.outcome: Outcome = "undecided"

    def observe(self, champion: Any, shadow: Any, truth: Any) -> None:
        """Add labelled pairs: the two models' predictions and the true values."""
        a, b, y = (np.asarray(v, dtype=float).ravel() for v in (champion, shadow, truth))
        if not a.size == b.size == y.size:
            raise ValueError(f"champion, shadow and truth need equal lengths, got "
                             f"{a.size}, {b.size} and {y.size}")
        self.differences.update_many(np.abs(a - y) - np.abs(b - y))

    def decide(self) -> PairedVerdict:
        """Judge the pairs as they stand now (a look; call it as often as wanted)."""
        s = self.differences
        test = PLUG_IN_TEST if self.sigma is None else SUB_GAUSSIAN_TEST
        per_pair = s.variance if self.sigma is None else self.sigma ** 2
        if s.n < self.min_pairs or not per_pair > 0:
            return self._verdict(self.outcome, test, -math.inf, math.inf,
                                 f"{s.n} pairs, fewer than min_pairs={self.min_pairs}"
                                 if s.n < self.min_pairs else "no spread in the differences")
        v = per_pair / s.n
        tau2 = mixing_variance(v, s.n, self.alpha, self.tuning_n)
        self.p_value = min(self.p_value, math.exp(-max(log_likelihood_ratio(s.mean, v, tau2),
                                                       0.0)))
        w = float(halfwidth(v, tau2, self.alpha))
        if self.outcome == "undecided" and self.p_value <= self.alpha:
            # the guarantee is of stopping at the first crossing: that verdict stands
            self.outcome = "better" if s.mean > 0 else "worse"
        return self._verdict(self.outcome, test, s.mean - w, s.mean + w,
                             f"the shadow saves {s.mean:.4g} absolute error per label over "
                             f"{s.n} labels (always-valid p = {self.p_value:.3g})")

    def _verdict(self, outcome: Outcome, test: str, lower: float, upper: float,
                 reason: str) -> PairedVerdict:
        s = self.differences
        estimate = s.mean if s.n else 0.0
        return PairedVerdict(outcome, test, estimate, lower, upper, 0.0, self.p_value, s.n,
                             estimate, reason)

    def snapshot(self) -> dict[str, Any]:
        return {"differences": self.differences.snapshot(), "p_value": self.p_value,
                "outcome": self.outcome}

    def restore(self, snap: dict[str, Any]) -> None:
        self.differences.restore(snap["differences"])
        self.p_value = float(snap["p_value"])
        self.outcome = checked_outcome(snap["outcome"])
