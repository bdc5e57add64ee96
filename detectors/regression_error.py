"""A regression's error per window (MAE, RMSE, bias) and its test against the reference.

The outcome join sums, per joined value, the absolute error, the squared error and the
signed error (predicted minus true); sums add across partitions, so a window's
:class:`RegressionErrors` is that of all its values. :class:`MaeShift` tests a window's
mean absolute error one-sided against the reference's (the version's MAE on its publish
holdout): a one-sample t-test on the absolute errors, whose spread the sums give since
``|e|^2 = e^2``. It is the test ``scipy.stats.ttest_1samp(abs_errors, reference,
alternative="greater")`` runs, from sums instead of values. A window counts as worse when
the rise is significant at ``alpha`` and at least ``min_increase`` of the reference; the
alert book's hysteresis makes a page of a sustained rise, as for concept drift.

Examples
--------
>>> errs = RegressionErrors()
>>> for e in (1.0, -2.0, 3.0):
...     errs.add(1, abs(e), e * e, e)
>>> errs.mae, round(errs.rmse, 4), round(errs.bias, 4)
(2.0, 2.1602, 0.6667)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from detectors.base import check_range

__all__ = ["MaeShift", "MaeVerdict", "RegressionErrors"]


@dataclass
class RegressionErrors:
    """Mergeable sums of a regression's errors: count, absolute, squared and signed."""

    n: int = 0
    abs_sum: float = 0.0
    squared_sum: float = 0.0
    signed_sum: float = 0.0

    def add(self, n: int, abs_sum: float, squared_sum: float, signed_sum: float) -> None:
        """Add the sums of ``n`` more errors (a partition's, a window's)."""
        self.n += n
        self.abs_sum += abs_sum
        self.squared_sum += squared_sum
        self.signed_sum += signed_sum

    @property
    def mae(self) -> float:
        """Mean absolute error (0 with no values)."""
        return self.abs_sum / self.n if self.n else 0.0

    @property
    def rmse(self) -> float:
        """Root mean squared error (0 with no values)."""
        return math.sqrt(self.squared_sum / self.n) if self.n else 0.0

    @property
    def bias(self) -> float:
        """Mean signed error, predicted minus true: above 0 when the model over-predicts."""
        return self.signed_sum / self.n if self.n else 0.0

    @property
    def abs_sd(self) -> float:
        """Sample standard deviation of the absolute errors (ddof 1; 0 below 2 values)."""
        if self.n < 2:
            return 0.0
        var = (self.squared_sum - self.n * self.mae ** 2) / (self.n - 1)
        return math.sqrt(max(var, 0.0))  # rounding can take an exact 0 below it

    def snapshot(self) -> list[float]:
        return [self.n, self.abs_sum, self.squared_sum, self.signed_sum]

    @classmethod
    def from_snapshot(cls, snap: list[float] | None) -> RegressionErrors:
        if not snap:
            return cls()
        n, abs_sum, squared_sum, signed_sum = snap
        return cls(int(n), float(abs_sum), float(squared_sum), float(signed_sum))


@dataclass(frozen=True)
class MaeVerdict:
    """One window's MAE against the reference's."""

    n: int
    mae: float
    rmse: float
    bias: float
    reference_mae: float
    p_value: float | None
    worse: bool


class MaeShift:
    """One-sided t-test of each window's MAE against the reference MAE.

    Parameters
    ----------
    alpha
        Significance of the rise, in (0, 1).
    min_increase
        Smallest rise that counts, as a share of the reference MAE (0.2: 20 % worse).
    min_window
        Fewest joined values a window needs to be tested.

    Examples
    --------
    >>> det = MaeShift(alpha=0.01, min_increase=0.2, min_window=30)
    >>> ok, bad = RegressionErrors(), RegressionErrors()
    >>> ok.add(100, 100.0, 150.0, 0.0); bad.add(100, 200.0, 500.0, 150.0)
    >>> det.judge(ok, reference_mae=1.0).worse, det.judge(bad, reference_mae=1.0).worse
    (False, True)
    """

    def __init__(self, alpha: float = 0.001, min_increase: float = 0.2,
                 min_window: int = 30) -> None:
        check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
        check_range("min_increase", min_increase, 0.0, float("inf"))
        check_range("min_window", min_window, 2, float("inf"))
        self.alpha = alpha
        self.min_increase = min_increase
        self.min_window = min_window

    def p_value(self, errors: RegressionErrors, reference_mae: float) -> float:
        """The one-sided p-value of ``errors``' MAE over ``reference_mae``."""
        sd = errors.abs_sd
        diff = errors.mae - reference_mae
        if sd == 0.0:  # every absolute error equal: the rise is certain, or absent
            return 0.0 if diff > 0 else 1.0
        t = diff / (sd / math.sqrt(errors.n))
        return float(stats.t.sf(t, errors.n - 1))

    def judge(self, errors: RegressionErrors, reference_mae: float) -> MaeVerdict:
        """Judge one window's errors against the reference MAE (>= 0)."""
        if not reference_mae >= 0.0 or not math.isfinite(reference_mae):
            raise ValueError(f"reference_mae must be a finite number >= 0, got {reference_mae}")
        p = None if errors.n < self.min_window else self.p_value(errors, reference_mae)
        worse = (p is not None and p < self.alpha
                 and errors.mae >= reference_mae * (1.0 + self.min_increase))
        return MaeVerdict(errors.n, errors.mae, errors.rmse, errors.bias, reference_mae, p,
                          worse)
