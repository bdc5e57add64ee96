"""Two-sample Kolmogorov-Smirnov test between a reference and a window."""

from __future__ import annotations

import numpy as np
from scipy import stats


def ks_statistic(reference: np.ndarray, window: np.ndarray) -> float:
    """The KS statistic ``sup |F_ref - F_win|`` of two sorted samples.

    Parameters
    ----------
    reference, window
        Sorted samples (ascending).

    Returns
    -------
    float
        Equal to ``scipy.stats.ks_2samp(reference, window).statistic``.

    Examples
    --------
    >>> round(ks_statistic(np.array([1.0, 2.0, 3.0]), np.array([2.5, 3.5])), 6)
    0.666667
    """
    both = np.concatenate((reference, window))
    cdf_ref = np.searchsorted(reference, both, side="right") / reference.size
    cdf_win = np.searchsorted(window, both, side="right") / window.size
    return float(np.max(np.abs(cdf_ref - cdf_win)))


def ks_p_value(statistic: float, n_reference: int, n_window: int) -> float:
    """The asymptotic two-sided p-value (``ks_2samp``'s ``method="asymp"``).

    Examples
    --------
    >>> round(ks_p_value(0.1, 1000, 1000), 4)
    0.0001
    """
    en = n_reference * n_window / (n_reference + n_window)
    return float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0.0, 1.0))
