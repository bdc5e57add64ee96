"""The paired shadow tests against closed forms, scipy's exact binomial test, and coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from detectors.ab.beta_binomial import confidence_sequence, log_bayes_factor
from detectors.ab.paired import DiscordantPairs, PairedCorrectnessTest

ALPHA = 0.05


@pytest.mark.parametrize(("k", "n", "p", "a", "b"), [
    (3, 10, 0.5, 1.0, 1.0), (40, 60, 0.5, 50.0, 50.0), (0, 25, 0.2, 0.5, 0.5),
    (7, 7, 0.9, 2.0, 3.0)])
def test_the_bayes_factor_equals_its_integral(k: int, n: int, p: float, a: float,
                                              b: float) -> None:
    def integrand(q: float) -> float:
        return float(q ** k * (1 - q) ** (n - k) * stats.beta.pdf(q, a, b))
    marginal, _ = integrate.quad(integrand, 0.0, 1.0, epsabs=0, epsrel=1e-12, limit=200)
    expected = math.log(marginal) - k * math.log(p) - (n - k) * math.log1p(-p)
    assert float(log_bayes_factor(k, n, p, a, b)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("k", "n"), [(30, 100), (1, 40), (199, 200), (500, 1000)])
def test_the_sequence_ends_are_where_the_factor_reaches_one_over_alpha(k: int, n: int) -> None:
    lo, hi = confidence_sequence(k, n, 50.0, 50.0, ALPHA)
    assert lo < k / n < hi
    for end in (e for e in (lo, hi) if 0.0 < e < 1.0):
        assert float(log_bayes_factor(k, n, end, 50.0, 50.0)) == pytest.approx(
            -math.log(ALPHA), rel=1e-8)
    fixed = stats.binomtest(k, n).proportion_ci(1 - ALPHA)
    assert lo <= fixed.low and fixed.high <= hi  # valid at every look costs width


def test_edges_of_the_sequence() -> None:
    assert confidence_sequence(0, 0, 1.0, 1.0, ALPHA) == (0.0, 1.0)
    lo, hi = confidence_sequence(0, 50, 1.0, 1.0, ALPHA)
    assert lo == 0.0 and 0.0 < hi < 0.2
    with pytest.raises(ValueError, match="k must be"):
        confidence_sequence(5, 4, 1.0, 1.0, ALPHA)


@pytest.mark.parametrize(("p", "a"), [(0.5, 50.0), (0.3, 1.0), (0.62, 50.0)])
def test_the_sequence_covers_the_true_mean_at_every_look(p: float, a: float) -> None:
    rng = np.random.default_rng(7)
    k = np.cumsum(rng.random((4000, 1500)) < p, axis=1)
    n = np.arange(1, 1501)
    missed = (log_bayes_factor(k, n, p, a, a) >= -math.log(ALPHA)).any(axis=1)
    assert missed.mean() <= ALPHA, missed.mean()


def _verdicts(champion_wins: int, shadow_wins: int) -> tuple[str, float]:
    t = PairedCorrectnessTest(ALPHA)
    t.pairs.champion_wins, t.pairs.shadow_wins = champion_wins, shadow_wins
    t.pairs.labelled = 10 * (champion_wins + shadow_wins)
    v = t.decide()
    return v.outcome, v.p_value


def test_a_decision_agrees_with_the_exact_binomial_test() -> None:
    decided = 0
    for b in range(0, 160, 3):
        for c in range(0, 160, 4):
            outcome, p = _verdicts(b, c)
            exact = stats.binomtest(c, b + c, 0.5).pvalue if b + c else 1.0
            if outcome != "undecided":
                decided += 1
                assert exact < ALPHA, (b, c, exact)
                assert (outcome == "better") == (c > b)
                assert exact <= p  # always-valid costs evidence, never gains it
            if exact < 1e-6:
                assert outcome != "undecided", (b, c)
    assert decided > 200


def _labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    truth = rng.integers(0, 3, n)
    champion = np.where(rng.random(n) < 0.8, truth, rng.integers(0, 3, n))
    shadow = np.where(rng.random(n) < 0.9, champion, rng.integers(0, 3, n))
    return champion, shadow, truth


def test_counts_match_numpy_and_partitions_merge_exactly() -> None:
    rng = np.random.default_rng(1)
    champion, shadow, truth = _labels(rng, 5000)
    whole = DiscordantPairs()
    whole.observe_predictions(champion, shadow)
    whole.observe_labels(champion, shadow, truth)
    assert whole.disagreements == int((champion != shadow).sum())
    assert whole.shadow_wins == int(((shadow == truth) & (champion != truth)).sum())
    assert whole.champion_wins == int(((champion == truth) & (shadow != truth)).sum())
    parts = [DiscordantPairs() for _ in range(3)]
    for part, idx in zip(parts, np.array_split(np.arange(5000), 3), strict=True):
        part.observe_predictions(champion[idx], shadow[idx])
        part.observe_labels(champion[idx], shadow[idx], truth[idx])
    for part in parts[1:]:
        parts[0].merge(part)
    assert parts[0].snapshot() == whole.snapshot()
    with pytest.raises(ValueError, match="truth has 3 values but champion has 4"):
        whole.observe_labels([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3])


def test_the_disagreement_rate_and_its_interval() -> None:
    rng = np.random.default_rng(2)
    champion, shadow, _ = _labels(rng, 3000)
    t = PairedCorrectnessTest()
    t.pairs.observe_predictions(champion, shadow)
    rate = t.disagreement()
    k = int((champion != shadow).sum())
    assert rate.estimate == k / 3000 and rate.n == 3000
    assert (rate.lower, rate.upper) == confidence_sequence(k, 3000, 0.5, 0.5, ALPHA)
    assert rate.lower < k / 3000 < rate.upper
    assert math.isnan(PairedCorrectnessTest().disagreement().estimate)


def test_the_p_value_is_the_least_seen_and_survives_a_snapshot() -> None:
    t = PairedCorrectnessTest()
    t.pairs.shadow_wins, t.pairs.champion_wins, t.pairs.labelled = 40, 10, 500
    first = t.decide()
    assert first.outcome == "better" and first.effect == pytest.approx(30 / 500)
    t.pairs.champion_wins += 40  # the evidence turns; the verdict already reached stands
    later = t.decide()
    assert later.p_value == first.p_value and later.outcome == "better"
    assert later.lower < 0.5 < later.upper
    copy = PairedCorrectnessTest()
    copy.restore(t.snapshot())
    assert copy.decide() == t.decide()


@pytest.mark.parametrize(("params", "name"), [({"alpha": 0.0}, "alpha"),
                                              ({"concentration": -1.0}, "concentration")])
def test_bad_parameters_name_themselves(params: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be"):
        PairedCorrectnessTest(**params)
