"""First Wasserstein (earth mover's) distance between a reference and a window."""

from __future__ import annotations

import numpy as np


def wasserstein(reference: np.ndarray, window: np.ndarray) -> float:
    """``integral |F_ref - F_win| dx`` of two sorted samples.

    Parameters
    ----------
    reference, window
        Sorted samples (ascending).

    Returns
    -------
    float
        Equal to ``scipy.stats.wasserstein_distance(reference, window)``.

    Examples
    --------
    >>> wasserstein(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    1.0
    """
    both = np.sort(np.concatenate((reference, window)), kind="mergesort")
    gaps = np.diff(both)
    cdf_ref = np.searchsorted(reference, both[:-1], side="right") / reference.size
    cdf_win = np.searchsorted(window, both[:-1], side="right") / window.size
    return float(np.sum(np.abs(cdf_ref - cdf_win) * gaps))
