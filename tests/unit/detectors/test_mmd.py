"""mmd_test agrees with a brute-force double loop, statistic and permutation p-value."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import distance

from detectors.stats import mmd_test


def _kernel(pool: np.ndarray, bandwidth: float) -> np.ndarray:
    return np.exp(-distance.squareform(distance.pdist(pool, "sqeuclidean")) / (2 * bandwidth**2))


def _brute_mmd2(k: np.ndarray, in_x: list[int], in_y: list[int]) -> float:
    """Unbiased MMD² from the kernel matrix, one pair at a time."""
    kxx = sum(k[i, j] for i in in_x for j in in_x if i != j)
    kyy = sum(k[i, j] for i in in_y for j in in_y if i != j)
    kxy = sum(k[i, j] for i in in_x for j in in_y)
    n, m = len(in_x), len(in_y)
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2 * kxy / (n * m)


def _brute_p_value(k: np.ndarray, n: int, n_permutations: int, seed: int) -> float:
    """The permutation p-value over the same seeded splits mmd_test draws."""
    size = len(k)
    observed = _brute_mmd2(k, list(range(n)), list(range(n, size)))
    perms = np.argsort(np.random.default_rng(seed).random((n_permutations, size)), axis=1)
    null = [_brute_mmd2(k, list(p[:n]), list(p[n:])) for p in perms]
    # a split drawn again scores the same but for rounding: it is a tie, so it counts
    return (1 + sum(v >= observed - 1e-9 for v in null)) / (1 + n_permutations)


@pytest.mark.parametrize("seed", range(6))
def test_mmd_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, d = (int(v) for v in rng.integers((2, 2, 1), (25, 25, 10)))
    x = rng.normal(size=(n, d))
    y = rng.normal(rng.normal(0, 0.5), 1, size=(m, d))
    given = None if seed % 2 else float(rng.uniform(0.5, 3))
    res = mmd_test(x, y, n_permutations=60, seed=seed, bandwidth=given)
    pool = np.concatenate((x, y))
    bandwidth = given or float(np.sqrt(np.median(distance.pdist(pool, "sqeuclidean"))))
    assert res.bandwidth == pytest.approx(bandwidth, rel=1e-12)
    k = _kernel(pool, bandwidth)
    brute = _brute_mmd2(k, list(range(n)), list(range(n, n + m)))
    assert res.statistic == pytest.approx(brute, rel=1e-9, abs=1e-12)
    assert res.p_value == _brute_p_value(k, n, 60, seed)


def test_mmd_counts_a_split_drawn_again_as_a_tie() -> None:
    # 7 points split 5/2 make 21 splits, so 261 permutations redraw the observed one; the
    # gather-per-permutation version lost some of those ties to rounding and said 0.034
    rng = np.random.default_rng(19)
    x, y = rng.normal(size=(5, 5)), rng.normal(size=(2, 5))
    perms = np.argsort(np.random.default_rng(19).random((261, 7)), axis=1)
    assert sum(set(p[:5]) == set(range(5)) for p in perms) > 5
    res = mmd_test(x, y, n_permutations=261, seed=19)
    k = _kernel(np.concatenate((x, y)), res.bandwidth)
    assert res.p_value == _brute_p_value(k, 5, 261, seed=19) == pytest.approx(0.057, abs=1e-3)
