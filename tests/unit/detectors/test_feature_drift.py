"""Binned feature drift checked against scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.feature_drift import binned_drift, segmented_drift
from detectors.stats import chi_square_goodness_of_fit, psi, shares


def chi_square(window: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """The test binned drift runs: the window against the reference's floored shares."""
    return chi_square_goodness_of_fit(window, shares(reference))


def _hists(seed: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = rng.integers(50, 500, size=k)
    win = rng.multinomial(int(rng.integers(100, 3000)), rng.dirichlet(np.ones(k) * 5))
    return win, ref


@pytest.mark.parametrize("seed", range(8))
def test_chi_square_equals_scipy_chisquare(seed: int) -> None:
    win, ref = _hists(seed)
    n = win.sum()
    expected = stats.chisquare(win, n * ref / ref.sum())
    stat, p = chi_square(win, ref)
    assert stat == pytest.approx(expected.statistic, rel=1e-9, abs=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_psi_equals_closed_form(seed: int) -> None:
    win, ref = _hists(seed)
    w, r = win / win.sum(), ref / ref.sum()
    w = np.maximum(w, 1e-4)
    w = w / w.sum()
    assert psi(ref, win) == pytest.approx(float(np.sum((w - r) * np.log(w / r))), rel=1e-12)


def test_psi_of_two_bins_by_hand() -> None:
    # (0.9 - 0.5) ln(0.9/0.5) + (0.1 - 0.5) ln(0.1/0.5)
    assert psi(np.array([50, 50]), np.array([90, 10])) == pytest.approx(
        0.4 * np.log(1.8) - 0.4 * np.log(0.2), rel=1e-12)
    assert psi(np.array([1, 1, 1]), np.array([5, 5, 5])) == pytest.approx(0.0, abs=1e-15)


def test_binned_drift_adjusts_p_values_with_benjamini_hochberg() -> None:
    rng = np.random.default_rng(3)
    ref = {f"f{j}": rng.integers(100, 200, size=10) for j in range(6)}
    win = {f"f{j}": rng.multinomial(400, ref[f"f{j}"] / ref[f"f{j}"].sum()) for j in range(6)}
    win["f4"] = rng.multinomial(400, np.r_[np.full(5, 0.16), np.full(5, 0.04)])
    res = binned_drift(win, ref, alpha=0.01, min_psi=0.1)
    names = [s.feature for s in res.shifts]
    raw = np.array([chi_square(win[f], ref[f])[1] for f in names])
    adjusted = stats.false_discovery_control(raw, method="bh")
    assert [s.p_value for s in res.shifts] == pytest.approx(raw.tolist(), rel=1e-12)
    assert [s.p_adjusted for s in res.shifts] == pytest.approx(adjusted.tolist(), rel=1e-12)
    assert [s.feature for s in res.drifted] == ["f4"]
    assert [s.psi for s in res.shifts] == sorted((s.psi for s in res.shifts), reverse=True)
    assert res.n == 400


def test_segmented_drift_adjusts_over_all_segments_together() -> None:
    rng = np.random.default_rng(11)
    ref = {"a": np.full(10, 100), "b": np.full(10, 100)}
    wins = {seg: {f: rng.multinomial(300, np.full(10, 0.1)) for f in ref}
            for seg in ("*", "region=eu", "region=us")}
    wins["region=eu"]["b"] = rng.multinomial(300, np.r_[np.full(2, 0.3), np.full(8, 0.05)])
    out = segmented_drift(wins, ref, alpha=0.001, min_psi=0.1)
    assert len(out) == 6
    raw = np.array([s.shift.p_value for s in out])
    assert [s.shift.p_adjusted for s in out] == pytest.approx(
        stats.false_discovery_control(raw, method="bh").tolist(), rel=1e-12)
    assert [(s.segment, s.shift.feature) for s in out if s.shift.drifted] == [("region=eu", "b")]


def test_small_harmless_shift_is_not_drift_even_when_significant() -> None:
    ref = {"a": np.full(10, 1000)}
    win = {"a": np.r_[np.full(5, 10_500), np.full(5, 9_500)]}
    res = binned_drift(win, ref, alpha=0.001, min_psi=0.1)
    assert res.shifts[0].p_adjusted < 1e-10
    assert res.shifts[0].psi < 0.01
    assert res.drifted == []
