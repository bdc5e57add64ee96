"""Population Stability Index, numeric (reference-quantile bins) and categorical."""

from __future__ import annotations

import numpy as np


def quantile_edges(reference: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (duplicates merged).

    Examples
    --------
    >>> quantile_edges(np.arange(100.0), n_bins=4).tolist()
    [24.75, 49.5, 74.25]
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    return np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1]))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=edges.size + 1)


def psi(reference_counts: np.ndarray, counts: np.ndarray, floor: float = 1e-4) -> float:
    """``sum((w - r) * ln(w / r))`` over bins, shares floored at ``floor``.

    Parameters
    ----------
    reference_counts, counts
        Counts per bin (or category) in the reference and in the window.
    floor
        The least share used, so an empty bin gives a large but finite term.

    Examples
    --------
    >>> round(psi(np.array([50, 50]), np.array([40, 60])), 6)
    0.040547
    """
    r = np.maximum(reference_counts / np.sum(reference_counts), floor)
    w = np.maximum(counts / np.sum(counts), floor)
    return float(np.sum((w - r) * np.log(w / r)))
