"""Category drift checked against scipy.stats.chisquare, a closed-form PSI and scipy's BH."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.category_drift import category_drift, top_category
from detectors.reference.categories import MISSING, UNSEEN, CategoryProfile

VOCAB = {"plan": ["free", "pro", "team"], "country": ["FR", "DE", "US", "UK"]}


def _profile(seed: int = 0) -> CategoryProfile:
    rng = np.random.default_rng(seed)
    cols = {name: list(rng.choice(v, size=2000, p=rng.dirichlet(np.ones(len(v)) * 4)))
            for name, v in VOCAB.items()}
    return CategoryProfile.from_columns(cols, VOCAB)


def _floored(counts: np.ndarray) -> np.ndarray:
    p = np.maximum(counts / counts.sum(), 1e-4)
    return p / p.sum()


def _window(profile: CategoryProfile, name: str, n: int, rng: np.random.Generator,
            unseen_share: float = 0.0) -> np.ndarray:
    p = profile.proportions(name).copy() * (1 - unseen_share)
    p[len(VOCAB[name])] += unseen_share
    return rng.multinomial(n, p)


@pytest.mark.parametrize("seed", range(5))
def test_statistics_equal_scipy_and_the_closed_form_psi(seed: int) -> None:
    rng = np.random.default_rng(seed)
    prof = _profile(seed)
    wins = {"*": {n: _window(prof, n, 900, rng, 0.05 * seed) for n in VOCAB},
            "region=eu": {n: _window(prof, n, 300, rng) for n in VOCAB}}
    shifts = category_drift(wins, prof, alpha=0.01, min_psi=0.1)
    assert len(shifts) == 4
    raw = []
    for s in shifts:
        o, ref = wins[s.segment][s.feature], prof.counts[s.feature]
        expected = _floored(ref) * o.sum()
        sc = stats.chisquare(o, expected)
        assert s.chi2 == pytest.approx(sc.statistic, rel=1e-9)
        assert s.p_value == pytest.approx(sc.pvalue, rel=1e-9, abs=1e-300)
        w, r = _floored(o), _floored(ref)
        assert s.psi == pytest.approx(float(np.sum((w - r) * np.log(w / r))), rel=1e-12)
        contributions = (o - expected) ** 2 / expected
        assert s.category == prof.bins(s.feature)[int(np.argmax(contributions))]
        raw.append(s.p_value)
    adjusted = stats.false_discovery_control(np.array(raw), method="bh")
    assert [s.p_adjusted for s in shifts] == pytest.approx(adjusted.tolist(), rel=1e-9)
    assert [s.psi for s in shifts] == sorted((s.psi for s in shifts), reverse=True)


def test_a_new_category_in_one_segment_names_the_feature_the_unseen_bin_and_the_segment(
        ) -> None:
    rng = np.random.default_rng(7)
    prof = _profile()
    wins = {seg: {n: _window(prof, n, 500, rng) for n in VOCAB}
            for seg in ("*", "region=us", "region=eu")}
    wins["region=eu"]["plan"] = _window(prof, "plan", 500, rng, unseen_share=0.2)
    shifts = category_drift(wins, prof)
    drifted = [s for s in shifts if s.drifted]
    assert [(s.segment, s.feature, s.category) for s in drifted] == [
        ("region=eu", "plan", UNSEEN)]
    assert drifted[0].window_share == pytest.approx(
        wins["region=eu"]["plan"][3] / 500) and drifted[0].reference_share == 0.0


def test_calm_windows_do_not_drift() -> None:
    rng = np.random.default_rng(11)
    prof = _profile()
    for _ in range(20):
        wins = {seg: {n: _window(prof, n, 800, rng) for n in VOCAB} for seg in ("*", "a=1")}
        assert not any(s.drifted for s in category_drift(wins, prof))


def test_a_missing_share_can_be_the_category_named() -> None:
    prof = CategoryProfile.from_columns({"plan": ["free"] * 50 + ["pro"] * 50},
                                        {"plan": ["free", "pro"]})
    win = prof.count_values("plan", ["free"] * 30 + ["pro"] * 30 + [None] * 40)
    (shift,) = category_drift({"*": {"plan": win}}, prof)
    assert shift.category == MISSING and shift.drifted


def test_windows_of_unknown_features_or_other_bins_are_left_out() -> None:
    prof = _profile()
    wins = {"*": {"plan": np.array([1, 2, 3]), "colour": np.array([5, 5, 0, 0]),
                  "country": np.zeros(6, dtype=np.int64)}}
    assert category_drift(wins, prof) == []


def test_top_category_by_hand() -> None:
    # expected 50/50 of 100: contributions (70-50)^2/50 = 8 and 8; the first wins ties
    assert top_category(np.array([70, 30]), np.array([10, 10])) == 0
    assert top_category(np.array([48, 40, 12]), np.array([50, 50, 0])) == 2
