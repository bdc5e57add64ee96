"""Calibrate a model's probabilities on its reference holdout (isotonic regression).

Confidence-based performance estimation (CBPE) needs probabilities that mean what they
say: of the rows scored 0.8, eight in ten are right. A model's raw scores rarely are, so
a monotone map from score to observed frequency is learnt on the labelled reference
holdout: the isotonic (pool-adjacent-violators) fit of the outcomes on the sorted
scores, ``scipy.optimize.isotonic_regression``, as NannyML does with scikit-learn's
``IsotonicRegression``. Between the fitted points the map interpolates linearly; outside
them it is flat.

Two uses:

- a binary model: calibrate ``p`` (the probability of class 1) against ``y == 1``; the
  chance that the prediction is right is then ``max(c, 1 - c)`` of the calibrated ``c``;
- a multiclass model (top-label calibration): calibrate the predicted class's
  probability against ``prediction == y``; the calibrated value is that chance itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression

__all__ = ["IsotonicCalibration", "correct_chance", "fit_reference"]


@dataclass(frozen=True)
class IsotonicCalibration:
    """A monotone, piecewise-linear map from a score to a calibrated probability.

    ``x`` holds the distinct reference scores at the edges of the fitted blocks and ``y``
    the block means there (non-decreasing).

    Examples
    --------
    >>> cal = IsotonicCalibration.fit([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    >>> cal(np.array([0.1, 0.25, 0.4])).tolist()
    [0.0, 0.5, 1.0]
    >>> IsotonicCalibration.from_dict(cal.to_dict()) == cal
    True
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, scores: Any, outcomes: Any) -> IsotonicCalibration:
        """Fit on reference ``scores`` in [0, 1] and their 0/1 ``outcomes``."""
        s = np.asarray(scores, dtype=float).ravel()
        o = np.asarray(outcomes, dtype=float).ravel()
        if s.size == 0 or s.size != o.size:
            raise ValueError(f"scores and outcomes must be non-empty and of one length, got "
                             f"{s.size} and {o.size}")
        if not (np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all()):
            raise ValueError("scores must be probabilities in [0, 1]")
        if not np.isin(o, (0.0, 1.0)).all():
            raise ValueError("outcomes must be 0 or 1")
        # pool tied scores first: one point per distinct score, weighted by its count
        uniq, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
        means = np.bincount(inverse, weights=o) / counts
        fitted = isotonic_regression(means, weights=counts.astype(float)).x
        # keep only the points where the fitted step changes (both ends of each block)
        change = np.flatnonzero(np.diff(fitted)) if uniq.size > 1 else np.zeros(0, dtype=int)
        keep = np.unique(np.concatenate(([0], change, change + 1, [uniq.size - 1])))
        return cls(tuple(uniq[keep].tolist()), tuple(fitted[keep].tolist()))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """The calibrated probabilities of ``scores``."""
        return np.interp(np.asarray(scores, dtype=float), self.x, self.y)

    def to_dict(self) -> dict[str, list[float]]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> IsotonicCalibration:
        x = tuple(float(v) for v in raw["x"])
        y = tuple(float(v) for v in raw["y"])
        if not x or len(x) != len(y) or any(b < a for a, b in pairwise(x)):
            raise ValueError("a calibration needs x and y of one length, x sorted")
        return cls(x, y)


def fit_reference(probabilities: Any, labels: Any) -> IsotonicCalibration:
    """The calibration of a model from its reference holdout, as :func:`correct_chance`
    reads it: ``probabilities`` shaped as there, ``labels`` the true classes.

    >>> fit_reference([0.2, 0.4, 0.6, 0.8], [0, 1, 0, 1]).y
    (0.0, 0.5, 0.5, 1.0)
    """
    p = _binary_or_matrix(probabilities)
    y = np.asarray(labels).ravel()
    if p.ndim == 1:
        return IsotonicCalibration.fit(p, y == 1)
    return IsotonicCalibration.fit(p.max(axis=1), p.argmax(axis=1) == y)


def correct_chance(probabilities: Any, calibration: IsotonicCalibration) -> np.ndarray:
    """Per row, the calibrated chance that the model's prediction is right.

    ``probabilities`` is ``(n,)`` (binary: the probability of class 1, calibrated against
    the label) or ``(n, k)`` with ``k >= 2`` (the predicted class's probability,
    calibrated against correctness; ``k == 2`` is taken as binary, column 1).

    >>> cal = IsotonicCalibration((0.0, 1.0), (0.0, 1.0))
    >>> correct_chance([0.9, 0.2], cal).round(2).tolist()
    [0.9, 0.8]
    >>> correct_chance([[0.2, 0.5, 0.3]], cal).tolist()
    [0.5]
    """
    p = _binary_or_matrix(probabilities)
    if p.ndim == 1:
        c = calibration(p)
        return np.maximum(c, 1.0 - c)
    return calibration(p.max(axis=1))


def _binary_or_matrix(probabilities: Any) -> np.ndarray:
    """``(n,)`` for a binary model (a two-column matrix gives its column 1), else ``(n, k)``."""
    p = np.asarray(probabilities, dtype=float)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] > 2):
        return p
    raise ValueError(f"probabilities must be (n,) or (n, k >= 2), got shape {p.shape}")
