"""Chi-square tests of a window's category counts against a reference."""

from __future__ import annotations

import numpy as np
from scipy import stats


def chi_square_goodness_of_fit(counts: np.ndarray,
                               reference_share: np.ndarray) -> tuple[float, float]:
    """Pearson's statistic and p-value of window counts against reference shares.

    Parameters
    ----------
    counts
        The window's count per category.
    reference_share
        Each category's share in the reference (positive, summing to 1).

    Returns
    -------
    tuple of float
        As ``scipy.stats.chisquare(counts, reference_share * counts.sum())``.

    Examples
    --------
    >>> stat, p = chi_square_goodness_of_fit(np.array([10, 30]), np.array([0.5, 0.5]))
    >>> stat, round(p, 5)
    (10.0, 0.00157)
    """
    expected = reference_share * counts.sum()
    stat = float(np.sum((counts - expected) ** 2 / expected))
    return stat, float(stats.chi2.sf(stat, counts.size - 1))


def chi_square_homogeneity(reference_counts: np.ndarray,
                           counts: np.ndarray) -> tuple[float, float]:
    """Chi-square test that reference and window counts share one distribution.

    Categories empty in both are left out. Equal to
    ``scipy.stats.chi2_contingency([reference_counts, counts], correction=False)``.

    Examples
    --------
    >>> stat, p = chi_square_homogeneity(np.array([50, 50]), np.array([30, 70]))
    >>> round(stat, 4), round(p, 5)
    (8.3333, 0.00389)
    """
    table = np.stack([reference_counts, counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    return stat, float(stats.chi2.sf(stat, table.shape[1] - 1))
