"""A regression candidate against the champion on the same holdout: the paired test on
absolute errors is scipy's paired t-test, and the checks pass and fail as they should."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from retrain.regression_validation import paired_abs_error, validate_regression
from retrain.validation import ValidationPolicy


def _holdout(seed: int, champion_noise: float, candidate_noise: float, n: int = 500
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, n)
    return y, y + rng.normal(0, champion_noise, n), y + rng.normal(0, candidate_noise, n)


@pytest.mark.parametrize(("seed", "champion_noise", "candidate_noise"),
                         [(0, 2.0, 1.0), (1, 1.0, 1.0), (2, 1.0, 1.5), (3, 3.0, 2.8)])
def test_the_p_value_is_scipys_paired_t_test(seed: int, champion_noise: float,
                                            candidate_noise: float) -> None:
    y, old, new = _holdout(seed, champion_noise, candidate_noise)
    test = paired_abs_error(y, old, new)
    expected = stats.ttest_rel(np.abs(old - y), np.abs(new - y), alternative="greater")
    assert test.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert test.champion_mae == pytest.approx(np.abs(old - y).mean())
    assert test.candidate_mae == pytest.approx(np.abs(new - y).mean())


def test_a_better_candidate_passes_an_equal_or_worse_one_does_not() -> None:
    policy = ValidationPolicy(margin=0.1, alpha=0.01)
    y, old, new = _holdout(4, 2.0, 1.0)
    report = validate_regression(y, old, new, policy)
    assert report.passed and report.checks[0].name == "mae"
    assert report.checks[0].figure == pytest.approx(0.5, abs=0.1)  # MAE halved
    y, old, same = _holdout(5, 1.0, 1.0)
    assert not validate_regression(y, old, same, policy).passed
    y, old, worse = _holdout(6, 1.0, 2.0)
    assert validate_regression(y, old, worse, policy).failed == ["mae"]


def test_a_segment_made_worse_fails_its_check_and_latency_is_judged() -> None:
    y, old, new = _holdout(7, 2.0, 1.0)
    eu = np.arange(len(y)) % 10 == 0
    new = np.where(eu, y + 3.0, new)  # far worse in one segment, better elsewhere
    report = validate_regression(y, old, new, ValidationPolicy(margin=0.0, alpha=0.5),
                                 segments={"region=eu": eu, "tiny": np.arange(len(y)) < 3},
                                 latency=([1.0, 1.0, 1.0], [1.5, 1.5, 1.5]))
    assert report.failed == ["segment:region=eu", "latency"]
    assert [c.name for c in report.checks] == ["mae", "segment:region=eu", "segment:tiny",
                                               "latency"]


@pytest.mark.parametrize(("y", "old", "new", "words"), [
    ([1.0], [1.0], [1.0], "at least 2"),
    ([1.0, 2.0], [1.0], [1.0, 2.0], "aligned"),
    ([1.0, np.nan], [1.0, 2.0], [1.0, 2.0], "finite"),
])
def test_bad_holdouts_are_refused(y: list[float], old: list[float], new: list[float],
                                  words: str) -> None:
    with pytest.raises(ValueError, match=words):
        paired_abs_error(np.array(y), np.array(old), np.array(new))
