"""Benjamini-Hochberg agrees with scipy; e-BH follows its definition and controls FDR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.multiple_testing import benjamini_hochberg, e_benjamini_hochberg


@pytest.mark.parametrize("seed", range(6))
def test_bh_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=180), rng.uniform(0, 1e-3, size=20)])
    rng.shuffle(p)
    rejected, adjusted = benjamini_hochberg(p, alpha=0.05)
    expected = stats.false_discovery_control(p, method="bh")
    assert np.allclose(adjusted, expected, rtol=0, atol=1e-12)
    assert np.array_equal(rejected, expected <= 0.05)


def test_bh_keeps_200_null_features_quiet() -> None:
    rng = np.random.default_rng(7)
    pages = sum(benjamini_hochberg(rng.uniform(size=200), 0.05)[0].any() for _ in range(400))
    # Under the global null, P(any rejection) = FDR <= 0.05: Binomial(400, 0.05) exceeds
    # 35 with probability < 0.001.
    assert pages <= 35


def _e_bh_by_definition(e: np.ndarray, alpha: float) -> np.ndarray:
    m = e.size
    best = 0
    for k in range(1, m + 1):
        if np.sum(e >= m / (alpha * k)) >= k:
            best = k
    threshold = m / (alpha * best) if best else np.inf
    return e >= threshold


@pytest.mark.parametrize("seed", range(6))
def test_e_bh_matches_its_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = np.exp(rng.normal(0, 3, size=50))
    assert np.array_equal(e_benjamini_hochberg(e, 0.1), _e_bh_by_definition(e, 0.1))


def test_e_bh_controls_fdr_with_likelihood_ratio_e_values() -> None:
    rng = np.random.default_rng(3)
    fdp = []
    for _ in range(300):
        signal = np.r_[np.zeros(180), np.full(20, 3.0)]
        z = rng.normal(signal)
        e = np.exp(3.0 * z - 4.5)  # likelihood ratio N(3,1)/N(0,1): E[e] = 1 under null
        rejected = e_benjamini_hochberg(e, 0.1)
        fdp.append(rejected[:180].sum() / max(rejected.sum(), 1))
    assert np.mean(fdp) <= 0.1


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="alpha"):
        benjamini_hochberg([0.1], alpha=1.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg([1.2])
    with pytest.raises(ValueError, match=">= 0"):
        e_benjamini_hochberg([-1.0])
