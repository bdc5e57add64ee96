"""Benjamini-Hochberg agrees with scipy and keeps null families quiet."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.multiple_testing import benjamini_hochberg


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


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="alpha"):
        benjamini_hochberg([0.1], alpha=1.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg([1.2])
