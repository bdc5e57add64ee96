"""Window statistics agree with scipy to 1e-9 on random inputs, or with a closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.stats import chi_square_goodness_of_fit, ks_p_value, ks_statistic, mmd_test, psi

SEEDS = range(8)


def _samples(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rng.integers(5, 400))
    b = rng.normal(rng.normal(0, 0.5), rng.uniform(0.5, 2), size=rng.integers(5, 400))
    if seed % 2:  # ties
        a, b = np.round(a, 1), np.round(b, 1)
    return np.sort(a), np.sort(b)


@pytest.mark.parametrize("seed", SEEDS)
def test_ks_matches_scipy(seed: int) -> None:
    a, b = _samples(seed)
    ref = stats.ks_2samp(a, b, method="asymp")
    d = ks_statistic(a, b)
    assert d == pytest.approx(ref.statistic, abs=1e-9)
    assert ks_p_value(d, a.size, b.size) == pytest.approx(ref.pvalue, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_chi_square_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    share = rng.dirichlet(np.ones(k))
    counts = rng.multinomial(int(rng.integers(50, 5000)), rng.dirichlet(np.ones(k)))
    stat, p = chi_square_goodness_of_fit(counts, share)
    expected = stats.chisquare(counts, share * counts.sum())
    assert stat == pytest.approx(expected.statistic, rel=1e-9)
    assert p == pytest.approx(expected.pvalue, abs=1e-9)


def test_psi_matches_its_closed_form() -> None:
    rng = np.random.default_rng(0)
    r = rng.integers(1, 100, size=10).astype(float)
    w = rng.integers(1, 100, size=10).astype(float)
    rs, ws = r / r.sum(), w / w.sum()
    assert psi(r, w) == pytest.approx(np.sum((ws - rs) * np.log(ws / rs)), abs=1e-12)
    assert psi(r, r) == 0.0


def test_mmd_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(15, 3)), rng.normal(0.5, 1, size=(12, 3))
    res = mmd_test(x, y, n_permutations=50, seed=3, bandwidth=1.3)

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-np.sum((a - b) ** 2) / (2 * 1.3**2)))

    kxx = sum(k(a, b) for i, a in enumerate(x) for j, b in enumerate(x) if i != j)
    kyy = sum(k(a, b) for i, a in enumerate(y) for j, b in enumerate(y) if i != j)
    kxy = sum(k(a, b) for a in x for b in y)
    direct = kxx / (15 * 14) + kyy / (12 * 11) - 2 * kxy / (15 * 12)
    assert res.statistic == pytest.approx(direct, abs=1e-9)
    assert res == mmd_test(x, y, n_permutations=50, seed=3, bandwidth=1.3)  # seeded


def test_mmd_false_positive_rate_is_near_alpha() -> None:
    rng = np.random.default_rng(6)
    p = [mmd_test(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), n_permutations=99,
                  seed=s).p_value for s in range(60)]
    rejections = sum(v <= 0.1 for v in p)
    # Binomial(60, 0.1): P(X > 14) < 0.002
    assert rejections <= 14
