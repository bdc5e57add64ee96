"""The experiment decision: burn-in, guardrails, primary metric, horizon, SRM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.ab.experiment import ONE_SIDED, SRM_TEST, TWO_SIDED, ExperimentTest, Guardrail
from detectors.ab.mixture_sprt import (
    halfwidth,
    log_likelihood_ratio,
    lower_bound_greater,
    mixing_variance,
)


def _feed(t: ExperimentTest, rng: np.random.Generator, n: int, p_a: float, p_b: float,
          lat_b: float = 0.05) -> None:
    t.champion["conversion"].update_many(rng.random(n) < p_a)
    t.challenger["conversion"].update_many(rng.random(n) < p_b)
    if "latency" in t.champion:
        t.champion["latency"].update_many(rng.gamma(4.0, 0.05 / 4.0, n))
        t.challenger["latency"].update_many(rng.gamma(4.0, lat_b / 4.0, n))
    t.srm.update([n, n])


def test_no_decision_before_the_burn_in() -> None:
    t = ExperimentTest("conversion")
    _feed(t, np.random.default_rng(0), 99, 0.05, 0.9)  # a huge lift, but 99 units per arm
    d = t.decide()
    assert (d.action, d.reason, d.n_champion) == ("continue", "burn-in", 99)
    t2 = ExperimentTest("conversion")
    _feed(t2, np.random.default_rng(0), 300, 0.05, 0.9)  # ~15 champion conversions < 25
    assert t2.champion["conversion"].successes < 25
    assert t2.decide().reason == "burn-in"


def test_a_better_challenger_is_promoted_with_growthbooks_interval() -> None:
    t = ExperimentTest("conversion")
    _feed(t, np.random.default_rng(1), 5000, 0.10, 0.14)
    d = t.decide()
    assert (d.action, d.test) == ("promote", TWO_SIDED)
    a, b = t.champion["conversion"], t.challenger["conversion"]
    v = a.mean * (1 - a.mean) / a.n + b.mean * (1 - b.mean) / b.n
    w = halfwidth(v, mixing_variance(v, 10_000, 0.05), 0.05)
    assert d.estimate == pytest.approx(b.mean - a.mean, abs=1e-15)
    assert (d.lower, d.upper) == pytest.approx((d.estimate - w, d.estimate + w), rel=1e-12)
    assert d.p_value == pytest.approx(math.exp(-log_likelihood_ratio(
        d.estimate, v, mixing_variance(v, 10_000, 0.05))), rel=1e-9)
    assert d.lower > 0 and (d.n_champion, d.n_challenger) == (5000, 5000)


def test_a_slower_challenger_is_rolled_back_by_the_latency_guardrail() -> None:
    t = ExperimentTest("conversion", guardrails=(Guardrail("latency", margin=0.005),))
    _feed(t, np.random.default_rng(2), 3000, 0.10, 0.10, lat_b=0.08)  # +30 ms mean
    d = t.decide()
    assert (d.action, d.metric, d.test) == ("rollback", "latency", ONE_SIDED)
    assert d.lower > 0.005 and d.upper == math.inf and d.estimate == pytest.approx(0.03, 0.1)


def test_within_the_margin_is_no_breach_and_the_horizon_ends_inconclusive() -> None:
    t = ExperimentTest("conversion", guardrails=(Guardrail("latency", margin=0.02),),
                       horizon=20_000)
    _feed(t, np.random.default_rng(3), 10_000, 0.10, 0.10, lat_b=0.055)
    d = t.decide()
    assert (d.action, d.reason) == ("inconclusive", "no difference found in 20000 units")
    assert d.lower < 0 < d.upper


def test_a_broken_split_withholds_every_decision() -> None:
    t = ExperimentTest("conversion")
    _feed(t, np.random.default_rng(4), 5000, 0.10, 0.14)
    t.srm.update([6000, 4000])
    d = t.decide()
    assert (d.action, d.test) == ("continue", SRM_TEST)
    assert d.p_value <= 0.001 and "mismatch" in d.reason


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ValueError, match="alpha"):
        ExperimentTest("conversion", alpha=0.7)
    with pytest.raises(ValueError, match="challenger_share"):
        ExperimentTest("conversion", challenger_share=1.0)


def test_a_lower_error_rate_is_better_when_the_metric_is_an_error() -> None:
    t = ExperimentTest("conversion", lower_is_better=True)
    _feed(t, np.random.default_rng(5), 5000, 0.14, 0.10)
    d = t.decide()
    assert d.action == "promote" and d.upper < 0
    t2 = ExperimentTest("conversion", lower_is_better=True)
    _feed(t2, np.random.default_rng(5), 5000, 0.10, 0.14)
    assert t2.decide().action == "rollback"


def test_arms_without_variance_still_trip_a_guardrail() -> None:
    t = ExperimentTest("conversion", guardrails=(Guardrail("slow", margin=0.01, binary=True),))
    _feed(t, np.random.default_rng(6), 400, 0.10, 0.10)
    t.champion["slow"].add(400, 0)  # no slow prediction at all
    t.challenger["slow"].add(400, 400)  # every one slow
    d = t.decide()
    assert (d.action, d.metric) == ("rollback", "slow")
    v = sum(p * (1 - p) / 400 for p in (0.5 / 401, 400.5 / 401))
    tau2 = mixing_variance(v, 800, 0.05)
    assert d.estimate == 1.0
    assert d.lower == pytest.approx(lower_bound_greater(1.0, v, tau2, 0.05), rel=1e-12)
    assert d.lower > 0.01


def test_a_continuous_primary_from_partition_sums_matches_numpy() -> None:
    """Revenue-like values per unit, summed per partition (count, sum, sum of squares)
    and merged: the decision's estimate, interval and p-value are the closed form on
    numpy's moments of the raw values."""
    rng = np.random.default_rng(11)
    t = ExperimentTest("revenue", primary_binary=False)
    raw = {"A": rng.lognormal(0.0, 1.0, 4000), "B": rng.lognormal(0.1, 1.0, 4000)}
    for arm, values in (("A", raw["A"]), ("B", raw["B"])):
        summary = (t.champion if arm == "A" else t.challenger)["revenue"]
        for part in np.array_split(values, 7):  # seven partitions' sums
            summary.add(part.size, float(part.sum()), float(np.dot(part, part)))
    t.srm.update([4000, 4000])
    d = t.decide()
    a, b = raw["A"], raw["B"]
    estimate = b.mean() - a.mean()
    v = a.var() / a.size + b.var() / b.size  # ddof 0, as the summaries' variance
    tau2 = v * 8000 * (-2 * math.log(0.05) + math.log(1 - 2 * math.log(0.05))) / 5000
    w = math.sqrt(2 * v * (v + tau2) / tau2 * math.log(math.sqrt((v + tau2) / v) / 0.05))
    llr = 0.5 * math.log(v / (v + tau2)) + tau2 * estimate ** 2 / (2 * v * (v + tau2))
    assert d.estimate == pytest.approx(estimate, rel=1e-9)
    assert (d.lower, d.upper) == pytest.approx((estimate - w, estimate + w), rel=1e-9)
    assert d.p_value == pytest.approx(min(1.0, math.exp(-llr)), rel=1e-9)
    assert d.action == ("promote" if math.exp(-llr) <= 0.05 else "continue")
