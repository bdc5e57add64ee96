"""Window statistics agree with scipy to 1e-9 on random inputs; windows stay exact."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from detectors.stats import (
    CategoricalWindowTest,
    CountWindow,
    NumericWindowTest,
    SortedWindow,
    chi_square_goodness_of_fit,
    chi_square_homogeneity,
    jensen_shannon,
    ks_p_value,
    ks_statistic,
    mmd_test,
    psi,
    wasserstein,
)

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
def test_wasserstein_matches_scipy(seed: int) -> None:
    a, b = _samples(seed)
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_chi_square_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    share = rng.dirichlet(np.ones(k))
    counts = rng.multinomial(int(rng.integers(50, 5000)), rng.dirichlet(np.ones(k)))
    ref_counts = rng.multinomial(int(rng.integers(50, 5000)), share)
    stat, p = chi_square_goodness_of_fit(counts, share)
    expected = stats.chisquare(counts, share * counts.sum())
    assert stat == pytest.approx(expected.statistic, rel=1e-9)
    assert p == pytest.approx(expected.pvalue, abs=1e-9)
    stat, p = chi_square_homogeneity(ref_counts, counts)
    chi2, p_ref, _, _ = stats.chi2_contingency(np.stack([ref_counts, counts]),
                                               correction=False)
    assert stat == pytest.approx(chi2, rel=1e-9)
    assert p == pytest.approx(p_ref, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("base", [None, 2.0])
def test_jensen_shannon_matches_scipy(seed: int, base: float | None) -> None:
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 30, size=8).astype(float)
    q = rng.integers(0, 30, size=8).astype(float)
    p[0] = q[1] = 5.0  # never all zero
    assert jensen_shannon(p, q, base) == pytest.approx(
        distance.jensenshannon(p, q, base=base), abs=1e-9)


def test_psi_matches_its_closed_form() -> None:
    rng = np.random.default_rng(0)
    r = rng.integers(1, 100, size=10).astype(float)
    w = rng.integers(1, 100, size=10).astype(float)
    rs, ws = r / r.sum(), w / w.sum()
    assert psi(r, w) == pytest.approx(np.sum((ws - rs) * np.log(ws / rs)), abs=1e-12)
    assert psi(r, r) == 0.0


@pytest.mark.parametrize("kind", ["sliding", "tumbling"])
def test_sorted_window_holds_exactly_its_values(kind: str) -> None:
    rng = np.random.default_rng(1)
    values = np.round(rng.normal(size=1000), 2)
    w = SortedWindow(97, kind=kind)
    for i in range(0, 1000, 37):
        w.extend(values[i: i + 37])
        seen = values[: i + 37]
        if kind == "sliding":
            expected = np.sort(seen[-97:])
        else:
            expected = np.sort(seen[(len(seen) - 1) // 97 * 97:])
        assert np.array_equal(w.sorted(), expected)


def test_count_window_matches_bincount() -> None:
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 5, size=500)
    w = CountWindow(60, n_categories=5)
    w.extend(codes)
    assert np.array_equal(w.counts, np.bincount(codes[-60:], minlength=5))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        w.extend([5])


def test_numeric_window_test_matches_scipy_on_its_window() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=3000)
    stream = rng.normal(0.3, 1.0, size=2500)
    ks = NumericWindowTest(ref, window_size=800, test="ks")
    ws = NumericWindowTest(ref, window_size=800, test="wasserstein")
    for part in np.array_split(stream, 7):
        ks.update_many(part)
        ws.update_many(part)
    expected = stats.ks_2samp(ref, stream[-800:], method="asymp")
    assert ks.result().statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert ks.result().p_value == pytest.approx(expected.pvalue, abs=1e-9)
    assert ws.result().statistic == pytest.approx(
        stats.wasserstein_distance(ref, stream[-800:]), abs=1e-9)
    with pytest.raises(ValueError, match="one of"):
        NumericWindowTest(ref, test="anderson")


def test_categorical_window_test_on_a_tumbling_window() -> None:
    rng = np.random.default_rng(4)
    ref = rng.integers(0, 4, size=1000)
    stream = rng.integers(0, 4, size=450)
    t = CategoricalWindowTest(ref, n_categories=4, window_size=200, kind="tumbling",
                              test="jensen_shannon")
    t.update_many(stream)
    block = stream[200:400]  # the last full block
    assert t.result().statistic == pytest.approx(distance.jensenshannon(
        np.bincount(ref, minlength=4), np.bincount(block, minlength=4)), abs=1e-9)


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
