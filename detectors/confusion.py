"""A multi-class model's window: its confusion counts, and its predicted classes against
the reference's.

Two summaries add across partitions, so the decision step merges them exactly:

- the confusion matrix of the labelled predictions (row: the true class, column: the
  predicted one), from which each class's recall and precision follow
  (:class:`ConfusionCounts`);
- the count of each predicted class, labels or not: prediction drift over the classes
  is Pearson's chi-square of these counts against the reference's shares with the PSI as
  its effect size (:func:`detectors.feature_drift.binned_drift`), and the class named is
  the one contributing most ``(o - e)^2 / e`` to the statistic
  (:func:`detectors.category_drift.top_category`): the class whose share moved.

Examples
--------
>>> cm = ConfusionCounts.from_pairs(actual=[0, 0, 1, 2, 2, 2], predicted=[0, 1, 1, 2, 2, 0], k=3)
>>> cm.recall().round(3).tolist(), cm.precision().round(3).tolist()
([0.5, 1.0, 0.667], [0.5, 0.5, 1.0])
>>> shift = class_drift(np.array([100, 100, 300, 100]), np.array([250, 250, 250, 250]))
>>> shift.label, shift.drifted, round(shift.window_share, 2)
(2, True, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from detectors.category_drift import top_category
from detectors.feature_drift import binned_drift

#: the output reference's column of predicted classes (one bin per class)
CLASS_OUTPUT = "class"

__all__ = ["CLASS_OUTPUT", "ClassShift", "ConfusionCounts", "class_drift", "class_edges",
           "class_share", "largest_drop"]


class ConfusionCounts:
    """A ``k`` by ``k`` confusion matrix: ``counts[actual, predicted]``.

    Parameters
    ----------
    k
        The number of classes (labels ``0 .. k - 1``).
    """

    def __init__(self, k: int) -> None:
        if k < 2:
            raise ValueError(f"k (the number of classes) must be at least 2, got {k}")
        self.k = k
        self.counts = np.zeros((k, k), dtype=np.int64)

    @classmethod
    def from_pairs(cls, actual: Any, predicted: Any, k: int) -> ConfusionCounts:
        """Count (true, predicted) label pairs."""
        cm = cls(k)
        cm.add(actual, predicted)
        return cm

    def add(self, actual: Any, predicted: Any) -> None:
        """Count more (true, predicted) label pairs; labels outside ``0 .. k - 1`` raise."""
        a = np.asarray(actual, dtype=np.int64).ravel()
        p = np.asarray(predicted, dtype=np.int64).ravel()
        if a.size != p.size:
            raise ValueError(f"actual and predicted differ in length: {a.size} and {p.size}")
        for name, labels in (("actual", a), ("predicted", p)):
            if labels.size and not (labels.min() >= 0 and labels.max() < self.k):
                raise ValueError(f"{name} labels must lie in 0..{self.k - 1}")
        self.counts += np.bincount(a * self.k + p, minlength=self.k ** 2).reshape(self.k,
                                                                                  self.k)

    def merge(self, other: ConfusionCounts | Any) -> None:
        """Add another partition's matrix (a ConfusionCounts or a nested list)."""
        theirs = other.counts if isinstance(other, ConfusionCounts) \
            else np.asarray(other, dtype=np.int64)
        if theirs.shape != self.counts.shape:
            raise ValueError(f"a confusion matrix of shape {self.counts.shape} was expected, "
                             f"got {theirs.shape}")
        self.counts += theirs

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def accuracy(self) -> float:
        """The share of predictions that were right (NaN when empty)."""
        return float(np.trace(self.counts) / self.n) if self.n else float("nan")

    def recall(self) -> np.ndarray:
        """Per true class, the share predicted as it (NaN for a class with no rows)."""
        return class_share(np.diag(self.counts), self.counts.sum(axis=1))

    def precision(self) -> np.ndarray:
        """Per predicted class, the share truly of it (NaN for a class never predicted)."""
        return class_share(np.diag(self.counts), self.counts.sum(axis=0))

    def to_list(self) -> list[list[int]]:
        return self.counts.tolist()


@dataclass(frozen=True)
class ClassShift:
    """Predicted classes of a window against the reference's; ``label`` moved most."""

    label: int
    window_share: float
    reference_share: float
    psi: float
    chi2: float
    p_value: float
    drifted: bool


def class_drift(counts: Any, reference_counts: Any, *, alpha: float = 0.001,
                min_psi: float = 0.1) -> ClassShift:
    """Test a window's predicted-class counts against the reference's.

    Drifted when the chi-square p-value is below ``alpha`` and the PSI reaches
    ``min_psi`` (as input drift); ``label`` is the class of largest contribution to the
    statistic, with its shares in the window and in the reference.
    """
    window = np.asarray(counts, dtype=np.int64)
    ref = np.asarray(reference_counts, dtype=np.int64)
    if window.shape != ref.shape or window.ndim != 1 or window.sum() == 0 or ref.sum() == 0:
        raise ValueError(f"counts and reference_counts must be non-empty counts over the same "
                         f"classes, got shapes {window.shape} and {ref.shape}")
    shift = binned_drift({"class": window}, {"class": ref}, alpha=alpha,
                         min_psi=min_psi).shifts[0]
    top = top_category(window, ref)
    return ClassShift(top, float(window[top] / window.sum()), float(ref[top] / ref.sum()),
                      shift.psi, shift.chi2, shift.p_value, shift.drifted)


def class_edges(k: int) -> np.ndarray:
    """The bin edges that give each of ``k`` class labels its own bin (an output
    reference's ``class`` column: binned as any column, one class per bin).

    >>> np.searchsorted(class_edges(4), [0, 1, 2, 3], side="right").tolist()
    [0, 1, 2, 3]
    """
    return np.arange(k - 1) + 0.5


def largest_drop(values: Any, reference: Any) -> int:
    """The class whose value (a recall, a precision) fell most below the reference's;
    classes with no value (NaN) on either side are skipped (-1 when none is left).

    >>> largest_drop([0.9, 0.5, float("nan")], [0.92, 0.88, 0.9])
    1
    """
    drop = np.asarray(reference, dtype=float) - np.asarray(values, dtype=float)
    if np.isnan(drop).all():
        return -1
    return int(np.nanargmax(drop))


def class_share(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Per class ``top / bottom``, NaN where ``bottom`` is 0 (a class with no rows)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
