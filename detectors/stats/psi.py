"""Population Stability Index of a window's histogram against a reference histogram.

PSI is ``sum((w - r) * ln(w / r))`` over the bins' shares ``w`` (window) and ``r``
(reference). Shares are floored, so an empty bin gives a large but finite term, and
renormalised to sum to 1 (:func:`shares`, which the chi-square test's expected counts use
too).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLOOR", "psi", "shares"]

#: The least share a bin is given.
FLOOR = 1e-4


def shares(counts: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """Each bin's share of ``counts``, floored at ``floor`` and renormalised to sum to 1.

    Examples
    --------
    >>> shares(np.array([0, 50, 50]), floor=0.01).round(4).tolist()
    [0.0099, 0.495, 0.495]
    """
    c = np.asarray(counts, dtype=float)
    total = c.sum()
    if not total > 0:
        raise ValueError(f"a histogram needs at least one count, got {c.tolist()}")
    p = np.maximum(c / total, floor)
    return p / p.sum()


def psi(reference_counts: np.ndarray, counts: np.ndarray, floor: float = FLOOR) -> float:
    """The PSI of a window's ``counts`` against ``reference_counts`` over the same bins.

    Parameters
    ----------
    reference_counts, counts
        Counts per bin (or category) in the reference and in the window.
    floor
        The least share used (see :func:`shares`).

    Examples
    --------
    >>> round(psi(np.array([50, 50]), np.array([40, 60])), 6)
    0.040547
    >>> round(psi(np.array([50, 50]), np.array([90, 10])), 4)
    0.8789
    """
    r, w = shares(reference_counts, floor), shares(counts, floor)
    return float(np.sum((w - r) * np.log(w / r)))
