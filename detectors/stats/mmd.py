"""Kernel maximum mean discrepancy between embedding samples, with a permutation test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MMDResult:
    """The outcome of an MMD two-sample test."""

    statistic: float
    """The unbiased estimate of MMD² with a Gaussian kernel."""
    p_value: float
    """``(1 + #{permuted >= observed}) / (1 + n_permutations)``; a split drawn again ties."""
    bandwidth: float
    """The kernel bandwidth used (the median pairwise distance unless given)."""


# Splits that are the same set score the same MMD² but for rounding (~1e-15: the terms are
# means of kernel values in [0, 1]); they must count as ties, as "permuted >= observed".
_TIE = 1e-12


def _sq_dists(a: np.ndarray) -> np.ndarray:
    norms = np.sum(a * a, axis=1)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * a @ a.T, 0.0)


def _mmd2(k: np.ndarray, in_x: np.ndarray) -> np.ndarray:
    """Unbiased MMD² for each row of ``in_x`` (P, N), the 0/1 indicator of an n-point X set.

    With ``a`` a row and ``b = 1 - a``, the kernel sums are quadratic forms on the pooled
    kernel matrix, ``a'Ka``, ``b'Kb`` and ``a'Kb``: one ``(P, N) @ (N, N)`` product for all
    permutations instead of ``P n²`` gathered entries. Subtracting ``n`` and ``m`` drops
    the Gaussian kernel's diagonal of 1s.
    """
    n = in_x[0].sum()
    m = in_x.shape[1] - n
    in_y = 1.0 - in_x
    kx = in_x @ k  # row p: a'K
    ky = k.sum(axis=0) - kx  # row p: b'K = 1'K - a'K
    kxx = np.einsum("pi,pi->p", kx, in_x) - n
    kyy = np.einsum("pi,pi->p", ky, in_y) - m
    kxy = np.einsum("pi,pi->p", kx, in_y)
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (n * m)


def mmd_test(reference: np.ndarray, window: np.ndarray, n_permutations: int = 200,
             seed: int = 0, bandwidth: float | None = None) -> MMDResult:
    """Two-sample MMD test of a window of embeddings against reference embeddings.

    Parameters
    ----------
    reference, window
        Arrays of shape ``(n, d)`` and ``(m, d)``, ``n, m >= 2``.
    n_permutations
        The number of seeded label permutations for the p-value.
    seed
        Seeds ``numpy.random.default_rng`` for the permutations.
    bandwidth
        The Gaussian kernel's ``sigma``; None for the median heuristic on the pool.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=(60, 4))
    >>> same = mmd_test(ref, rng.normal(size=(60, 4)), seed=1)
    >>> moved = mmd_test(ref, rng.normal(0.8, 1, size=(60, 4)), seed=1)
    >>> same.p_value > 0.05, moved.p_value < 0.01
    (True, True)
    """
    x = np.atleast_2d(np.asarray(reference, dtype=float))
    y = np.atleast_2d(np.asarray(window, dtype=float))
    if min(len(x), len(y)) < 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"reference and window must be (n>=2, d) arrays with the same d, "
                         f"got {x.shape} and {y.shape}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be an integer >= 1, got {n_permutations!r}")
    pool = np.concatenate((x, y))
    d2 = _sq_dists(pool)
    if bandwidth is None:
        upper = d2[np.triu_indices(len(pool), k=1)]
        bandwidth = float(np.sqrt(np.median(upper[upper > 0]))) if np.any(upper > 0) else 1.0
    k = np.exp(-d2 / (2.0 * bandwidth**2))
    np.fill_diagonal(k, 1.0)
    n = len(x)
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_permutations, len(pool))), axis=1)
    in_x = np.zeros((1 + n_permutations, len(pool)))
    in_x[0, :n] = 1.0  # the observed split
    np.put_along_axis(in_x[1:], perms[:, :n], 1.0, axis=1)
    mmd2 = _mmd2(k, in_x)
    observed, null = float(mmd2[0]), mmd2[1:]
    p = (1.0 + np.sum(null >= observed - _TIE)) / (1.0 + n_permutations)
    return MMDResult(statistic=observed, p_value=float(p), bandwidth=bandwidth)
