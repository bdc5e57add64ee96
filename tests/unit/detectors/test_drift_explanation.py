"""The drift explanation corrects, ranks and names what moved."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.drift_explanation import FeatureShift, Window, explain_drift

REF, CUR = Window("t0", "t1", 5000), Window("t2", "t3", 1000)


def _shift(feature: str, p: float, effect: float, segment: str = "all") -> FeatureShift:
    return FeatureShift(feature, segment, "ks", effect, p, effect, 0.05, REF, CUR)


def test_moved_features_rank_first_by_effect_size() -> None:
    rng = np.random.default_rng(0)
    shifts = [_shift(f"f{i}", float(p), 0.01) for i, p in enumerate(rng.uniform(size=198))]
    shifts += [_shift("age", 1e-9, 0.2, "country=DE"), _shift("income", 1e-12, 0.4)]
    out = explain_drift(shifts, alpha=0.05)
    assert [s.feature for s in out.moved] == ["income", "age"]
    assert out.shifts[0].feature == "income" and out.n_tests == 200
    assert out.shifts[1].segment == "country=DE"
    assert out.moved[0].adjusted_p_value == pytest.approx(1e-12 * 200)
    assert out.text.startswith("2 of 200 tests moved (BH, FDR 5%). income in all: ks 0.4")
    assert "age in country=DE" in out.text and "(n=5000) vs t2..t3 (n=1000)" in out.text


def test_chance_findings_do_not_move_after_correction() -> None:
    shifts = [_shift(f"f{i}", 0.01, 0.05) for i in range(3)] + [
        _shift(f"g{i}", 0.9, 0.01) for i in range(197)]
    assert explain_drift(shifts).moved == ()
    assert len(explain_drift(shifts, correction="none").moved) == 3
    assert explain_drift(shifts).text == "0 of 200 tests moved (BH, FDR 5%)."


def test_text_names_at_most_top_features() -> None:
    shifts = [_shift(f"f{i}", 1e-10, 0.1 + i / 100) for i in range(5)]
    text = explain_drift(shifts, top=2).text
    assert "f4 in all" in text and "f3 in all" in text and "f2" not in text
    assert text.endswith("; and 3 more.")
    with pytest.raises(ValueError, match="one of"):
        explain_drift(shifts, correction="bonferroni")
