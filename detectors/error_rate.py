"""Concept drift on labelled outcomes: a window's error rate against the model's baseline.

The baseline is the error rate of the first ``baseline_labelled`` labelled predictions
(a model is deployed when it works); each later window is tested one-sided against it
with a binomial test, and counts as drifted when the rise is significant at ``alpha`` and
at least ``min_increase`` in absolute terms. Windows arrive as (labelled, errors) counts,
which partitions can sum, so the test runs on merged summaries. Unlike DDM (which resets
its baseline after each alarm) the baseline stays until :meth:`rebase` (after a retrain),
so the verdict stays "drift" for as long as the model is worse, and an alert can resolve
when it recovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scipy import stats

from detectors.base import check_range


@dataclass(frozen=True)
class ErrorRateVerdict:
    """One window's error rate against the baseline."""

    labelled: int
    errors: int
    rate: float
    baseline: float | None
    p_value: float | None
    drift: bool


class ErrorRateShift:
    """One-sided binomial test of each window's error rate against a frozen baseline.

    >>> det = ErrorRateShift(baseline_labelled=1000, alpha=0.001, min_increase=0.05)
    >>> det.update(100, 1000).baseline is None  # still learning the baseline
    True
    >>> det.update(12, 100).drift, det.update(35, 100).drift
    (False, True)
    """

    def __init__(self, baseline_labelled: int = 1000, alpha: float = 0.001,
                 min_increase: float = 0.05, min_window: int = 50) -> None:
        check_range("baseline_labelled", baseline_labelled, 1, float("inf"))
        check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
        check_range("min_increase", min_increase, 0.0, 1.0)
        check_range("min_window", min_window, 1, float("inf"))
        self.baseline_labelled = baseline_labelled
        self.alpha = alpha
        self.min_increase = min_increase
        self.min_window = min_window
        self._reset()

    def _reset(self) -> None:
        self._base_n = 0
        self._base_errors = 0

    @property
    def baseline(self) -> float | None:
        """The baseline error rate, once enough labels were seen."""
        if self._base_n < self.baseline_labelled:
            return None
        return self._base_errors / self._base_n

    def update(self, errors: int, labelled: int) -> ErrorRateVerdict:
        """Judge one window of ``labelled`` outcomes of which ``errors`` were mispredicted."""
        if not 0 <= errors <= labelled:
            raise ValueError(f"need 0 <= errors <= labelled, got {errors} and {labelled}")
        rate = errors / labelled if labelled else 0.0
        base = self.baseline
        if base is None:
            self._base_n += labelled
            self._base_errors += errors
            return ErrorRateVerdict(labelled, errors, rate, None, None, False)
        if labelled < self.min_window:
            return ErrorRateVerdict(labelled, errors, rate, base, None, False)
        p = float(stats.binomtest(errors, labelled, base, alternative="greater").pvalue)
        drift = p < self.alpha and rate - base >= self.min_increase
        return ErrorRateVerdict(labelled, errors, rate, base, p, drift)

    def rebase(self) -> None:
        """Learn a new baseline (after a new model version is deployed)."""
        self._reset()

    def snapshot(self) -> dict[str, Any]:
        return {"base_n": self._base_n, "base_errors": self._base_errors}

    def restore(self, snap: dict[str, Any]) -> None:
        self._base_n, self._base_errors = int(snap["base_n"]), int(snap["base_errors"])
