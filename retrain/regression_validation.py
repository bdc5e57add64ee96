"""Validate a regression candidate against the champion on the same holdout.

The regression counterpart of :func:`retrain.validation.validate_candidate`, with the
same report, policy and latency check:

``mae``
    The candidate's MAE reduction, as a share of the champion's MAE, is at least the
    policy's ``margin``, and significant under a paired one-sided t-test on the rows'
    absolute errors (the differences ``|e_champion| - |e_candidate|``: both models are
    scored on the same rows, so their errors are paired). It is the test
    ``scipy.stats.ttest_rel(abs_champion, abs_candidate, alternative="greater")`` runs.
``segment:<key=value>``
    In each declared segment the candidate's MAE rises by no more than
    ``segment_tolerance`` of the champion's there.
``latency``
    As for a classifier (:func:`retrain.validation.latency_check`).

Examples
--------
>>> import numpy as np
>>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
>>> champion = y + np.array([1.0, -1.2, 0.9, -1.1, 1.0, -0.8])
>>> candidate = y + np.array([0.1, -0.2, 0.2, -0.1, 0.0, 0.1])
>>> test = paired_abs_error(y, champion, candidate)
>>> round(test.champion_mae, 4), round(test.candidate_mae, 4), test.p_value < 0.001
(1.0, 0.1167, True)
>>> validate_regression(y, champion, candidate, ValidationPolicy(margin=0.5)).passed
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from retrain.validation import (
    Check,
    ValidationPolicy,
    ValidationReport,
    latency_check,
    segment_checks,
)

__all__ = ["PairedErrorResult", "paired_abs_error", "validate_regression"]


@dataclass(frozen=True)
class PairedErrorResult:
    """The paired comparison of two regressions' absolute errors on the same rows."""

    n: int
    champion_mae: float
    candidate_mae: float
    p_value: float
    """One-sided p-value of "the candidate's absolute errors are no lower"."""

    @property
    def reduction(self) -> float:
        """The candidate's MAE reduction as a share of the champion's (0 when both are 0)."""
        if self.champion_mae == 0.0:
            return 0.0
        return (self.champion_mae - self.candidate_mae) / self.champion_mae


def _abs_errors(y_true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(predicted, dtype=float) - np.asarray(y_true, dtype=float))


def paired_abs_error(y_true: np.ndarray, champion: np.ndarray,
                     candidate: np.ndarray) -> PairedErrorResult:
    """One-sided paired t-test that ``candidate``'s values err less than ``champion``'s."""
    y = np.asarray(y_true, dtype=float)
    if not (y.shape == np.shape(champion) == np.shape(candidate)) or y.ndim != 1:
        raise ValueError(f"y_true, champion and candidate must be 1-d and aligned, got "
                         f"shapes {y.shape}, {np.shape(champion)}, {np.shape(candidate)}")
    if len(y) < 2:
        raise ValueError(f"a paired test needs at least 2 holdout rows, got {len(y)}")
    old, new = _abs_errors(y, champion), _abs_errors(y, candidate)
    if not (np.isfinite(old).all() and np.isfinite(new).all()):
        raise ValueError("y_true, champion and candidate must be finite")
    diff = old - new
    sd = float(diff.std(ddof=1))
    if sd == 0.0:  # every row moved by the same amount: certain, or no gain
        p = 0.0 if diff.mean() > 0 else 1.0
    else:
        p = float(stats.t.sf(diff.mean() / (sd / math.sqrt(len(y))), len(y) - 1))
    return PairedErrorResult(len(y), float(old.mean()), float(new.mean()), p)


def validate_regression(
    y_true: np.ndarray,
    champion: np.ndarray,
    candidate: np.ndarray,
    policy: ValidationPolicy,
    *,
    segments: Mapping[str, np.ndarray] | None = None,
    latency: tuple[list[float], list[float]] | None = None,
) -> ValidationReport:
    """Run the checks of ``policy`` on the holdout's true values and both models' values
    (row-aligned); ``segments`` and ``latency`` as :func:`validate_candidate` takes them."""
    test = paired_abs_error(y_true, champion, candidate)
    checks = [Check(
        "mae", test.reduction, policy.margin,
        test.reduction >= policy.margin and test.p_value <= policy.alpha, test.p_value,
        f"paired t-test on absolute errors: MAE {test.candidate_mae:.6g} vs champion "
        f"{test.champion_mae:.6g}, n={test.n}, alpha={policy.alpha}")]
    old, new = _abs_errors(y_true, champion), _abs_errors(y_true, candidate)

    def rise(rows: np.ndarray) -> float:
        base = float(old[rows].mean())
        return (float(new[rows].mean()) - base) / base if base else 0.0

    checks += segment_checks(segments, old.shape, policy, policy.segment_tolerance, rise)
    if latency is not None:
        checks.append(latency_check(latency, policy))
    return ValidationReport(tuple(checks))
