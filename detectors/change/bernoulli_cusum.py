"""Two-sided Bernoulli CUSUM on a model's 0/1 errors, re-armed after each alarm."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from detectors.base import check_range
from detectors.change.base import ChangeDetector, check_positive_int


class BernoulliCUSUM(ChangeDetector):
    """Log-likelihood-ratio CUSUM for a change of an error rate (Page, 1954).

    After each reset the in-control error rate ``p0`` is estimated on the next
    ``warm_start`` outcomes; then two CUSUMs of log-likelihood ratios run, one against a
    rise of the odds of an error by ``odds_ratio`` and one against a fall by the same
    factor (Steiner et al., 2000, use an odds ratio of 2). The detector fires when either
    exceeds ``threshold`` and, after the alarm, re-estimates ``p0`` (river's convention:
    the reset happens on the next update). River has no CUSUM.

    Parameters
    ----------
    odds_ratio
        The change of the odds ``p / (1 - p)`` to detect, above 1 (both directions).
    threshold
        The decision interval ``h``, in nats; by Wald's inequality the in-control run
        length of each one-sided CUSUM is at least about ``exp(h)`` values.
    warm_start
        The number of outcomes that estimate ``p0`` after each reset.

    Notes
    -----
    Values are 0 (correct) or 1 (error). With ``n1`` errors and ``n0`` correct outcomes
    since the warm-up, the log-likelihood ratio is ``C = n1 * a + n0 * b``; each CUSUM
    is ``C - min(0, min C)`` (the closed form of ``S = max(0, S + llr)``). ``update``
    and ``update_many`` compute it by the same expressions (counts by sequential
    addition, ``numpy.cumsum``), so the batch repeats the loop bit for bit. ``p0`` is
    ``(errors + 0.5) / (warm_start + 1)``, which stays inside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> errors = np.concatenate([rng.random(5000) < 0.1, rng.random(1000) < 0.3])
    >>> cusum = BernoulliCUSUM()
    >>> int(cusum.update_many(errors)[0])
    5077
    """

    input_kind = "binary"

    def __init__(self, odds_ratio: float = 2.0, threshold: float = 10.0,
                 warm_start: int = 1000) -> None:
        check_range("odds_ratio", odds_ratio, 1.0, float("inf"), low_open=True)
        check_range("threshold", threshold, 0.0, float("inf"), low_open=True)
        check_positive_int("warm_start", warm_start)
        self.odds_ratio = odds_ratio
        self.threshold = threshold
        self.warm_start = warm_start
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._seen = 0  # outcomes since the reset, warm-up included
        self._errors = 0.0  # errors in the warm-up
        self._n = 0  # outcomes since the warm-up
        self._ones = 0.0  # errors since the warm-up
        self._weights = np.zeros((2, 2))  # rows: rise, fall; columns: error, correct
        self._min = np.zeros(2)  # min(0, min C) per direction

    @property
    def p0(self) -> float | None:
        """The in-control error rate estimated on the warm-up (None during it)."""
        if self._seen < self.warm_start:
            return None
        return (self._errors + 0.5) / (self.warm_start + 1)

    @property
    def statistic(self) -> float:
        """The larger of the two CUSUMs at the last update."""
        c = self._llr(np.array([self._ones]), np.array([float(self._n)]))
        return max(float(c[0][0] - self._min[0]), float(c[1][0] - self._min[1]))

    def _arm(self) -> None:
        p0 = self.p0
        assert p0 is not None
        odds = p0 / (1.0 - p0)
        for row, p1 in enumerate((odds * self.odds_ratio, odds / self.odds_ratio)):
            p1 = p1 / (1.0 + p1)
            self._weights[row] = (math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0)))

    def _llr(self, ones: np.ndarray, n: np.ndarray) -> list[np.ndarray]:
        """The log-likelihood ratios ``C`` after ``ones`` errors of ``n``, per direction."""
        zeros = n - ones
        return [ones * a + zeros * b for a, b in self._weights.tolist()]

    def _warm_up(self, x: np.ndarray, start: int) -> int:
        take = min(self.warm_start - self._seen, x.size - start)
        if take <= 0:
            return start
        for v in x[start: start + take].tolist():
            self._errors += v
        self._seen += take
        if self._seen == self.warm_start:
            self._arm()
        return start + take

    def update(self, x: float) -> None:
        """Feed one outcome: 1.0 for an error, 0.0 for a correct prediction."""
        if self._drift_detected:
            self._reset()
        if self._seen < self.warm_start:
            self._warm_up(np.array([x], dtype=float), 0)
            return
        self._run(np.array([x], dtype=float))

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        ones = np.cumsum(np.concatenate(([self._ones], x)))[1:]
        n = (self._n + np.arange(1, x.size + 1)).astype(float)
        up, down = self._llr(ones, n)
        m_up = np.minimum.accumulate(np.minimum(up, self._min[0]))
        m_down = np.minimum.accumulate(np.minimum(down, self._min[1]))
        hit = np.flatnonzero((up - m_up > self.threshold) | (down - m_down > self.threshold))
        end = int(hit[0]) if hit.size else x.size - 1
        self._n += end + 1
        self._ones = float(ones[end])
        self._min = np.array([m_up[end], m_down[end]])
        self._drift_detected = bool(hit.size)
        return end + 1, bool(hit.size)

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"odds_ratio": 1.0}, {"odds_ratio": 0.5}, {"threshold": 0.0},
                {"warm_start": 0}]
