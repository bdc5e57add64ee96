"""Data quality: each feature's binomial test agrees with scipy, BH with scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.data_quality import quality_shift


def test_p_values_are_scipy_binomtest_greater_and_adjusted_by_bh() -> None:
    bad = {"f0": 40, "f1": 9, "f2": 300, "extra": 45}
    reference = {"f0": 0.02, "f1": 0.002, "f2": 0.0, "f3": 0.01}
    v = quality_shift(1000, bad, reference, tolerance=0.01, alpha=0.01)
    by = {f.feature: f for f in v.features}
    assert set(by) == {"f0", "f1", "f2", "f3", "extra"}
    for name, f in by.items():
        expected = reference.get(name, 0.0) + 0.01
        ref = stats.binomtest(bad.get(name, 0), 1000, expected, alternative="greater").pvalue
        assert f.p_value == pytest.approx(ref, rel=1e-9, abs=1e-300)
        assert f.expected == pytest.approx(expected)
    names = sorted(by)
    adjusted = stats.false_discovery_control([by[n].p_value for n in names], method="bh")
    np.testing.assert_allclose([by[n].p_adjusted for n in names], adjusted, rtol=1e-9)
    assert {f.feature for f in v.features if f.flagged} == {
        n for n, a in zip(names, adjusted, strict=True) if a <= 0.01}
    # f2 (30% missing) and the unknown feature (4.5% where the reference has none) rise
    assert by["f2"].flagged and by["extra"].flagged and not by["f1"].flagged
    assert v.worst is not None and v.worst.feature == "f2"


def test_a_stable_window_at_the_reference_share_is_rarely_flagged() -> None:
    rng = np.random.default_rng(7)
    reference = {f"f{j}": 0.002 for j in range(8)}
    flagged = 0
    for _ in range(500):
        counts = rng.binomial(1000, 0.002, size=8)
        bad = {f"f{j}": int(c) for j, c in enumerate(counts)}
        flagged += quality_shift(1000, bad, reference, tolerance=0.02, alpha=0.001).bad
    assert flagged == 0


def test_empty_window_and_bad_arguments() -> None:
    assert quality_shift(0, {}, {"f0": 0.0}).features == ()
    assert not quality_shift(0, {}, {"f0": 0.0}).bad
    with pytest.raises(ValueError, match="alpha"):
        quality_shift(10, {}, {"f0": 0.0}, alpha=0.0)
    with pytest.raises(ValueError, match="tolerance"):
        quality_shift(10, {}, {"f0": 0.0}, tolerance=1.0)
    with pytest.raises(ValueError, match="bad counts"):
        quality_shift(10, {"f0": 11}, {"f0": 0.0})
    with pytest.raises(ValueError, match="reference shares"):
        quality_shift(10, {}, {"f0": 1.5})
