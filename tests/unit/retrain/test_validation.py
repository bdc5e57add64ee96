"""Champion-versus-candidate validation, its McNemar test checked against scipy."""

from __future__ import annotations

import math
import statistics
from itertools import count

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from retrain.validation import (
    ValidationPolicy,
    mcnemar,
    time_batches,
    validate_candidate,
)


def _pair(
    n: int, p_champion: float, p_candidate: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    champion = np.where(rng.random(n) < p_champion, y, 1 - y)
    candidate = np.where(rng.random(n) < p_candidate, y, 1 - y)
    return y, champion, candidate


@pytest.mark.parametrize(("n", "pa", "pc", "seed"), [
    (50, 0.8, 0.85, 0), (400, 0.85, 0.9, 1), (5000, 0.88, 0.885, 2), (200_000, 0.9, 0.9, 3),
    (300, 0.9, 0.8, 4),
])
def test_mcnemar_matches_binomtest_on_discordant_pairs(
    n: int, pa: float, pc: float, seed: int
) -> None:
    y, champion, candidate = _pair(n, pa, pc, seed)
    got = mcnemar(y, champion, candidate, "exact")
    b = int(np.sum((champion == y) & (candidate != y)))
    c = int(np.sum((candidate == y) & (champion != y)))
    assert (got.b, got.c, got.n) == (b, c, n)
    assert got.gain == pytest.approx(np.mean(candidate == y) - np.mean(champion == y))
    exact = binomtest(c, b + c, 0.5, alternative="greater").pvalue
    assert got.p_value == pytest.approx(exact, rel=1e-9, abs=1e-300)
    mid = mcnemar(y, champion, candidate, "mid-p")
    assert mid.p_value == pytest.approx(exact - 0.5 * binom.pmf(c, b + c, 0.5), rel=1e-9,
                                        abs=1e-300)
    assert mid.p_value < got.p_value


def test_mcnemar_of_identical_models_has_no_evidence() -> None:
    y, champion, _ = _pair(100, 0.8, 0.8, 5)
    same = mcnemar(y, champion, champion.copy(), "exact")
    assert (same.b, same.c, same.gain, same.p_value) == (0, 0, 0.0, 1.0)
    assert mcnemar(y, champion, champion.copy(), "mid-p").p_value == 0.5


def test_a_real_gain_passes_and_every_figure_is_reported() -> None:
    y, champion, candidate = _pair(4000, 0.85, 0.9, 6)
    region = np.arange(4000) % 4 == 0
    policy = ValidationPolicy(margin=0.02, alpha=0.01, segment_tolerance=0.02)
    timed = ([0.010, 0.011, 0.012], [0.011, 0.012, 0.0125])
    report = validate_candidate(y, champion, candidate, policy,
                                segments={"region=eu": region, "region=us": ~region},
                                latency=timed)
    assert report.passed and report.failed == []
    accuracy, eu, us, latency = report.checks
    assert accuracy.figure == pytest.approx(np.mean(candidate == y) - np.mean(champion == y))
    assert accuracy.figure >= 0.02 and accuracy.p_value is not None and accuracy.p_value < 0.01
    assert eu.figure == pytest.approx(
        np.mean(candidate[region] == y[region]) - np.mean(champion[region] == y[region]))
    assert eu.threshold == -0.02 and us.name == "segment:region=us"
    assert latency.figure == pytest.approx(0.012 / 0.011) and latency.threshold == 1.2


def test_a_gain_below_the_margin_or_not_significant_fails() -> None:
    y, champion, candidate = _pair(4000, 0.85, 0.9, 6)
    gain = np.mean(candidate == y) - np.mean(champion == y)
    above = validate_candidate(y, champion, candidate, ValidationPolicy(margin=gain + 0.001))
    assert above.failed == ["accuracy"]
    small_y, small_a, small_c = y[:40], champion[:40], candidate[:40]
    tiny = validate_candidate(small_y, small_a, small_c, ValidationPolicy(alpha=1e-6))
    assert not tiny.passed and tiny.checks[0].p_value is not None
    assert tiny.checks[0].p_value > 1e-6


def test_a_segment_that_regresses_fails_alone() -> None:
    y, champion, candidate = _pair(4000, 0.85, 0.95, 7)
    seg = np.arange(4000) < 500
    candidate = candidate.copy()
    candidate[seg] = np.where(np.arange(500) % 4 == 0, 1 - y[seg], y[seg])  # 75 % in seg
    champion = champion.copy()
    champion[seg] = y[seg]  # 100 % in seg
    tiny = np.zeros(4000, dtype=bool)
    tiny[:5] = True
    report = validate_candidate(y, champion, candidate, ValidationPolicy(),
                                segments={"device=mobile": seg, "region=apac": tiny})
    assert report.failed == ["segment:device=mobile"]
    assert report.checks[1].figure == pytest.approx(-0.25)
    assert math.isnan(report.checks[2].figure) and "not judged" in report.checks[2].detail


def test_slower_candidate_fails_latency() -> None:
    y, champion, candidate = _pair(2000, 0.8, 0.9, 8)
    timed = ([0.010] * 5, [0.013] * 5)
    report = validate_candidate(y, champion, candidate, ValidationPolicy(latency_tolerance=0.25),
                                latency=timed)
    assert report.failed == ["latency"] and report.checks[-1].figure == pytest.approx(1.3)


def test_rows_for_clickhouse_carry_every_check_and_the_verdict() -> None:
    y, champion, candidate = _pair(2000, 0.8, 0.9, 8)
    report = validate_candidate(y, champion, candidate, ValidationPolicy(),
                                latency=([1.0], [2.0]))
    rows = report.rows(validation_id="r1", model="churn", champion_version="v1",
                       candidate_version="v2", at=1.5)
    assert [r["check"] for r in rows] == ["accuracy", "latency", "overall"]
    assert rows[0]["p_value"] == report.checks[0].p_value and math.isnan(rows[1]["p_value"])  # type: ignore[arg-type]
    assert rows[-1]["passed"] == 0 and rows[-1]["detail"] == "failed: latency"
    assert {r["validation_id"] for r in rows} == {"r1"} and rows[0]["passed"] == 1


def test_time_batches_interleaves_and_times_each_call() -> None:
    calls: list[str] = []
    ticks = count()
    champion_s, candidate_s = time_batches(
        lambda x: calls.append("a"), lambda x: calls.append("b"), np.zeros((2, 2)),
        repeats=4, warmup=1, timer=lambda: float(next(ticks)))
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert champion_s == candidate_s == [1.0] * 4
    assert statistics.median(champion_s) == 1.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"alpha": 0.0}, "alpha"), ({"method": "chi2"}, "method"),
    ({"segment_tolerance": -0.1}, "segment_tolerance"), ({"margin": 2.0}, "margin"),
    ({"min_segment_rows": 0}, "min_segment_rows"),
])
def test_bad_policy_names_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=f"ValidationPolicy.{match}"):
        ValidationPolicy(**kwargs)


def test_misaligned_inputs_raise() -> None:
    with pytest.raises(ValueError, match="aligned"):
        mcnemar(np.zeros(3), np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="empty holdout"):
        mcnemar(np.zeros(0), np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="mask has shape"):
        validate_candidate(np.zeros(3), np.zeros(3), np.zeros(3), ValidationPolicy(),
                           segments={"x=y": np.zeros(2, dtype=bool)})
