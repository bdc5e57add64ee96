"""False-discovery control over many simultaneous tests (features x segments x models).

``benjamini_hochberg`` works on p-values (valid under independence or positive
dependence); ``e_benjamini_hochberg`` works on e-values and controls the false
discovery rate under any dependence between the tests.
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


def e_benjamini_hochberg(e_values: Iterable[float], alpha: float = 0.05) -> np.ndarray:
    """The e-BH procedure (Wang & Ramdas, 2022): reject the ``k*`` largest e-values.

    ``k* = max{k : e_(k) >= m / (alpha k)}`` where ``e_(k)`` is the k-th largest of
    ``m`` e-values; the false discovery rate is at most ``alpha`` whatever the
    dependence between the tests.

    Parameters
    ----------
    e_values
        One non-negative e-value per test.
    alpha
        The target false discovery rate, in (0, 1).

    Returns
    -------
    numpy.ndarray
        The rejected tests (bool).

    Examples
    --------
    >>> e_benjamini_hochberg([400.0, 90.0, 30.0, 1.0], alpha=0.05).tolist()
    [True, True, True, False]
    """
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    e = np.asarray(list(e_values), dtype=float)
    if e.size and (np.isnan(e).any() or e.min() < 0):
        raise ValueError("e_values must all be >= 0")
    m = e.size
    order = np.argsort(-e, kind="stable")
    passes = e[order] >= m / (alpha * np.arange(1, m + 1))
    k = int(np.flatnonzero(passes)[-1]) + 1 if passes.any() else 0
    rejected = np.zeros(m, dtype=bool)
    rejected[order[:k]] = True
    return rejected
