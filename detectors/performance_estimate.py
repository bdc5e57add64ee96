"""Accuracy estimated before the labels arrive (confidence-based performance estimation).

Labels come hours or days late, or never. If the model's probabilities are calibrated
(:mod:`detectors.probability_calibration`, fitted on the reference holdout), the chance
``c_i`` that prediction ``i`` is right is known without its label, and a window's
accuracy is a sum of independent Bernoulli(``c_i``) outcomes over ``n``. So:

- the estimate is ``E[acc] = sum(c_i) / n``, the mean calibrated confidence (NannyML's
  CBPE for accuracy);
- the realised accuracy differs from it by sampling alone with variance
  ``Var[acc] = sum(c_i (1 - c_i)) / n**2`` (the Poisson-binomial variance), and the band
  is ``estimate +/- z * sqrt(Var)``, clipped to [0, 1]; ``z = 3`` as NannyML's 3 sigma.

NannyML's sampling error is the standard deviation of the per-row outcome on the
reference divided by ``sqrt(n)``, about ``sqrt(a (1 - a) / n)`` for reference accuracy
``a``. Ours is computed from the window's own confidences, so it follows a shift in
them; by Jensen's inequality it is never wider for the same mean. Neither band holds the
error of the calibration itself: both assume that P(right | score) learnt on the
reference still holds (covariate shift, no concept drift), the premise of CBPE.

Both parts are sums, so partitions summarise their share (``n``, ``sum c``,
``sum c (1 - c)``) and the decision step adds them: the merged estimate is exactly that
of the union. When labels arrive, ``add_labels`` sets the realised accuracy beside it.

The window is degraded (evidence for a retrain) when the estimate is more than
``max_drop`` below ``reference_accuracy`` and the band's top is below it too: a drop
both large and beyond the sampling noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from detectors.base import DriftDetector, check_range

__all__ = ["AccuracyEstimate"]


class AccuracyEstimate(DriftDetector):
    """A window's estimated accuracy from calibrated confidences, with its band.

    Parameters
    ----------
    reference_accuracy
        The model's accuracy on the reference holdout.
    max_drop
        The drop of the estimate below ``reference_accuracy`` tolerated before the
        window is degraded.
    z
        The band's half-width in standard errors (3 as NannyML).

    Examples
    --------
    >>> est = AccuracyEstimate(reference_accuracy=0.9, max_drop=0.05)
    >>> est.update_many([0.9, 0.8, 0.7, 0.6])
    >>> round(est.estimate, 3), [round(b, 3) for b in est.band], est.degraded
    (0.75, [0.123, 1.0], False)
    >>> est.add(400, 260.0, 400 * 0.65 * 0.35); round(est.estimate, 3), est.degraded
    (0.651, True)
    >>> est.add_labels(correct=250, labelled=404); round(est.realised or 0, 3)
    0.619
    """

    def __init__(self, reference_accuracy: float, max_drop: float = 0.05,
                 z: float = 3.0) -> None:
        check_range("reference_accuracy", reference_accuracy, 0.0, 1.0)
        check_range("max_drop", max_drop, 0.0, 1.0)
        check_range("z", z, 0.0, math.inf, low_open=True, high_open=True)
        self.reference_accuracy = reference_accuracy
        self.max_drop = max_drop
        self.z = z
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self.n = 0
        self.confidence_sum = 0.0
        self.variance_sum = 0.0
        self.labelled = 0
        self.correct = 0

    # -- updates ---------------------------------------------------------------------
    def update(self, x: float) -> None:
        """Add one prediction's calibrated chance of being right."""
        self.update_many([x])

    def update_many(self, values: Iterable[float] | np.ndarray) -> None:
        """Add a batch of calibrated chances (the sums of looping :meth:`update`)."""
        c = np.asarray(values, dtype=float).ravel()
        if not (np.isfinite(c).all() and ((c >= 0) & (c <= 1)).all()):
            raise ValueError("calibrated chances must lie in [0, 1]")
        self.add(c.size, float(c.sum()), float(np.dot(c, 1.0 - c)))

    def add(self, n: int, confidence_sum: float, variance_sum: float) -> None:
        """Add a partition's part: ``n`` predictions, ``sum c`` and ``sum c (1 - c)``."""
        if n < 0 or not 0.0 <= confidence_sum <= n + 1e-9 or variance_sum < -1e-9:
            raise ValueError(f"a part needs n >= 0, 0 <= sum c <= n and sum c(1-c) >= 0, got "
                             f"n={n}, sum c={confidence_sum}, sum c(1-c)={variance_sum}")
        self.n += int(n)
        self.confidence_sum += float(confidence_sum)
        self.variance_sum += max(float(variance_sum), 0.0)
        self._drift_detected = self.degraded

    def add_labels(self, correct: int, labelled: int) -> None:
        """Record the labels that arrived: ``correct`` right of ``labelled``."""
        if not 0 <= correct <= labelled:
            raise ValueError(f"need 0 <= correct <= labelled, got {correct} of {labelled}")
        self.labelled += int(labelled)
        self.correct += int(correct)

    def merge(self, other: AccuracyEstimate) -> None:
        """Add another partition's estimate of the same window."""
        self.add(other.n, other.confidence_sum, other.variance_sum)
        self.add_labels(other.correct, other.labelled)

    def reset(self) -> None:
        """Start the next window."""
        self._reset()

    # -- results ---------------------------------------------------------------------
    @property
    def estimate(self) -> float:
        """The expected accuracy of the window (NaN when it is empty)."""
        return self.confidence_sum / self.n if self.n else math.nan

    @property
    def standard_error(self) -> float:
        """The standard deviation of the realised accuracy around the estimate."""
        return math.sqrt(self.variance_sum) / self.n if self.n else math.nan

    @property
    def band(self) -> tuple[float, float]:
        """``estimate -/+ z * standard_error``, clipped to [0, 1]."""
        half = self.z * self.standard_error
        return max(self.estimate - half, 0.0), min(self.estimate + half, 1.0)

    @property
    def realised(self) -> float | None:
        """The accuracy on the labels that arrived (None before any)."""
        return self.correct / self.labelled if self.labelled else None

    @property
    def drop(self) -> float:
        """How far the estimate lies below the reference accuracy."""
        return self.reference_accuracy - self.estimate

    @property
    def degraded(self) -> bool:
        """The estimate dropped beyond ``max_drop`` and its band lies below the reference."""
        return bool(self.n) and self.drop > self.max_drop \
            and self.band[1] < self.reference_accuracy
