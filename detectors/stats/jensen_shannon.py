"""Jensen-Shannon distance between category distributions."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import rel_entr


def jensen_shannon(p: np.ndarray, q: np.ndarray, base: float | None = None) -> float:
    """The Jensen-Shannon distance (square root of the divergence) of two count vectors.

    Parameters
    ----------
    p, q
        Counts or probabilities per category (normalised here).
    base
        The logarithm base; None for natural logarithms.

    Returns
    -------
    float
        Equal to ``scipy.spatial.distance.jensenshannon(p, q, base)``.

    Examples
    --------
    >>> jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0]), base=2)
    1.0
    """
    p = np.asarray(p, dtype=float) / np.sum(p)
    q = np.asarray(q, dtype=float) / np.sum(q)
    m = (p + q) / 2.0
    js = (np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m))) / 2.0
    if base is not None:
        js /= math.log(base)
    return float(np.sqrt(max(js, 0.0)))
