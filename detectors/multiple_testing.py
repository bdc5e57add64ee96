"""False-discovery control over many simultaneous tests (features x segments x models).

``benjamini_hochberg`` works on p-values and is valid under independence or positive
dependence between the tests.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from detectors.base import check_range


def benjamini_hochberg(p_values: Iterable[float],
                       alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg step-up procedure.

    Parameters
    ----------
    p_values
        One p-value per test, each in [0, 1].
    alpha
        The target false discovery rate, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        The rejected tests (bool) and the adjusted p-values, the latter equal to
        ``scipy.stats.false_discovery_control(p_values, method="bh")``.

    Examples
    --------
    >>> rejected, adjusted = benjamini_hochberg([0.001, 0.02, 0.03, 0.5], alpha=0.05)
    >>> rejected.tolist(), adjusted.round(3).tolist()
    ([True, True, True, False], [0.004, 0.04, 0.04, 0.5])
    """
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    p = np.asarray(list(p_values), dtype=float)
    if p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1):
        raise ValueError("p_values must all be in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted <= alpha, adjusted
