"""Two metrics of the same units as one mergeable summary: counts, sums, cross-products.

CUPED (an outcome and its pre-experiment value) and ratio metrics (a numerator and a
denominator per unit) both need, per arm, the means, variances and covariance of a pair
``(y, x)``. Their sums add across partitions, so the merged summary is exactly the summary
of the union, as :class:`~detectors.ab.arm.ArmSummary` is for one metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FIELDS = ("n", "sum_y", "sum_x", "sum_yy", "sum_xx", "sum_xy")


class BivariateSummary:
    """Count, sums, sums of squares and the cross-product of ``(y, x)`` per unit.

    Moments use the denominator ``n`` (maximum likelihood), as :class:`ArmSummary` does.

    >>> s = BivariateSummary(); s.update_many(y=[1.0, 2.0, 4.0], x=[1.0, 1.0, 2.0])
    >>> s.n, round(s.mean_y, 4), round(s.cov, 4), round(s.var_x, 4)
    (3, 2.3333, 0.5556, 0.2222)
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.sum_y = self.sum_x = 0.0
        self.sum_yy = self.sum_xx = self.sum_xy = 0.0

    def update_many(self, y: Any, x: Any) -> None:
        """Add one unit per pair of values (vectorised)."""
        yv = np.asarray(y, dtype=float).ravel()
        xv = np.asarray(x, dtype=float).ravel()
        if yv.size != xv.size:
            raise ValueError(f"y has {yv.size} values but x has {xv.size}")
        if not (np.isfinite(yv).all() and np.isfinite(xv).all()):
            raise ValueError("y and x must be finite (a unit with no outcome counts as 0)")
        self.n += yv.size
        self.sum_y += float(yv.sum())
        self.sum_x += float(xv.sum())
        self.sum_yy += float(np.dot(yv, yv))
        self.sum_xx += float(np.dot(xv, xv))
        self.sum_xy += float(np.dot(yv, xv))

    @property
    def mean_y(self) -> float:
        return self.sum_y / self.n if self.n else float("nan")

    @property
    def mean_x(self) -> float:
        return self.sum_x / self.n if self.n else float("nan")

    @property
    def var_y(self) -> float:
        return max(self.sum_yy / self.n - self.mean_y ** 2, 0.0) if self.n else float("nan")

    @property
    def var_x(self) -> float:
        return max(self.sum_xx / self.n - self.mean_x ** 2, 0.0) if self.n else float("nan")

    @property
    def cov(self) -> float:
        return self.sum_xy / self.n - self.mean_x * self.mean_y if self.n else float("nan")

    def merge(self, other: BivariateSummary) -> None:
        """Add another part (a partition, or the other arm for pooled moments)."""
        for name in _FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    def restore(self, snap: dict[str, Any]) -> None:
        self.n = int(snap["n"])
        for name in _FIELDS[1:]:
            setattr(self, name, float(snap[name]))


def pooled(*parts: BivariateSummary) -> BivariateSummary:
    """One summary of all the parts' units together (the parts are left as they are)."""
    out = BivariateSummary()
    for part in parts:
        out.merge(part)
    return out
