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

For ``k`` classes, :class:`ClassEstimate` estimates each class's recall and precision as
NannyML's multi-class CBPE does: each class's probability is calibrated one against the
rest (:func:`fit_class_calibration`) and each row's calibrated probabilities are scaled
to sum to 1 (:func:`calibrate_classes`), giving ``q_ik``, the chance that row ``i`` is of
class ``k``. Then the expected true positives of class ``k`` are ``sum_{i: pred k} q_ik``,
its expected rows ``sum_i q_ik``, so recall ``TP_k / sum_i q_ik`` and precision
``TP_k / #{pred k}``; accuracy is ``sum_k TP_k / n``, the mean of the predicted class's
``q`` (its band as above). All are sums over rows, so partitions merge. Accuracy alone is
also :class:`AccuracyEstimate` over the top-label calibration
(:func:`detectors.probability_calibration.correct_chance` of the probability matrix),
one calibration instead of ``k``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from detectors.base import DriftDetector, check_range
from detectors.confusion import class_share
from detectors.probability_calibration import IsotonicCalibration

__all__ = ["AccuracyEstimate", "ClassEstimate", "calibrate_classes", "fit_class_calibration"]


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


def fit_class_calibration(probabilities: Iterable[Iterable[float]] | np.ndarray,
                          labels: Iterable[int] | np.ndarray) -> tuple[IsotonicCalibration, ...]:
    """Calibrate each class's probability against ``label == k`` on the reference.

    ``probabilities`` is the (n, k) matrix of the model's class probabilities and
    ``labels`` the true classes ``0 .. k - 1``.
    """
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(labels).ravel()
    if p.ndim != 2 or p.shape[1] < 2 or p.shape[0] != y.size:
        raise ValueError(f"probabilities must be (n, k >= 2) with one label per row, got "
                         f"{p.shape} and {y.size} labels")
    return tuple(IsotonicCalibration.fit(p[:, k], y == k) for k in range(p.shape[1]))


def calibrate_classes(probabilities: Iterable[Iterable[float]] | np.ndarray,
                      calibrations: tuple[IsotonicCalibration, ...]) -> np.ndarray:
    """The calibrated (n, k) probabilities, each row scaled to sum to 1 (uniform if 0)."""
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(calibrations):
        raise ValueError(f"probabilities must have {len(calibrations)} columns, got {p.shape}")
    q = np.column_stack([cal(p[:, k]) for k, cal in enumerate(calibrations)])
    total = q.sum(axis=1, keepdims=True)
    return np.divide(q, total, out=np.full_like(q, 1.0 / q.shape[1]), where=total > 0)


class ClassEstimate:
    """A window's expected accuracy and per-class recall and precision (k-class CBPE).

    Parameters
    ----------
    k
        The number of classes.

    Examples
    --------
    >>> est = ClassEstimate(3)
    >>> est.update_many([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.0, 0.5]], [0, 1, 2])
    >>> round(est.accuracy, 4), est.recall.round(3).tolist(), est.precision.tolist()
    (0.6667, [0.533, 0.875, 0.714], [0.8, 0.7, 0.5])
    """

    def __init__(self, k: int) -> None:
        if k < 2:
            raise ValueError(f"k (the number of classes) must be at least 2, got {k}")
        self.k = k
        self.n = 0
        self.predicted = np.zeros(k)
        self.true_positive = np.zeros(k)
        self.positive = np.zeros(k)
        self.variance_sum = 0.0

    def update_many(self, calibrated: Iterable[Iterable[float]] | np.ndarray,
                    predicted: Iterable[int] | np.ndarray) -> None:
        """Add rows: their calibrated (n, k) probabilities and predicted classes."""
        q = np.asarray(calibrated, dtype=float)
        pred = np.asarray(predicted, dtype=np.int64).ravel()
        if q.ndim != 2 or q.shape != (pred.size, self.k):
            raise ValueError(f"calibrated must be (n, {self.k}) with one predicted class per "
                             f"row, got {q.shape} and {pred.size}")
        if pred.size and not (pred.min() >= 0 and pred.max() < self.k):
            raise ValueError(f"predicted classes must lie in 0..{self.k - 1}")
        hit = q[np.arange(pred.size), pred]
        self.add(pred.size, np.bincount(pred, minlength=self.k),
                 np.bincount(pred, weights=hit, minlength=self.k), q.sum(axis=0),
                 float(np.dot(hit, 1.0 - hit)))

    def add(self, n: int, predicted: np.ndarray, true_positive: np.ndarray,
            positive: np.ndarray, variance_sum: float) -> None:
        """Add a partition's sums: rows, per class the predicted count, expected true
        positives and expected rows, and ``sum c (1 - c)`` of the predicted class's ``c``."""
        self.n += int(n)
        self.predicted += predicted
        self.true_positive += true_positive
        self.positive += positive
        self.variance_sum += max(float(variance_sum), 0.0)

    def merge(self, other: ClassEstimate) -> None:
        """Add another partition's estimate of the same window."""
        self.add(other.n, other.predicted, other.true_positive, other.positive,
                 other.variance_sum)

    @property
    def accuracy(self) -> float:
        """The expected accuracy (NaN when empty)."""
        return float(self.true_positive.sum() / self.n) if self.n else math.nan

    @property
    def accuracy_band(self) -> tuple[float, float]:
        """``accuracy -/+ 3`` standard errors of the realised accuracy, within [0, 1]."""
        half = 3.0 * math.sqrt(self.variance_sum) / self.n if self.n else math.nan
        return max(self.accuracy - half, 0.0), min(self.accuracy + half, 1.0)

    @property
    def recall(self) -> np.ndarray:
        """Per class, the expected recall (NaN for a class expected nowhere)."""
        return class_share(self.true_positive, self.positive)

    @property
    def precision(self) -> np.ndarray:
        """Per class, the expected precision (NaN for a class never predicted)."""
        return class_share(self.true_positive, self.predicted)

