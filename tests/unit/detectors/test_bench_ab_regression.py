"""The A/A bench on absolute error: its per-look sums are the raw errors' cumulative sums,
its t-test at every look is scipy's Welch test on the raw errors, and its always-valid
test decides for a truly better challenger and (on a seeded A/A) holds its level."""

from __future__ import annotations

import numpy as np
from scipy import stats

from bench.ab_regression import always_valid_decides, look_sums, t_test_decides


def test_the_t_test_at_every_look_is_scipys_welch_test_on_the_raw_errors() -> None:
    every, looks = 60, 5
    sums = list(look_sums(np.random.default_rng(3), 4, every, looks, 1.0))
    # the same seed draws the champion's errors, then the challenger's
    raw = np.abs(np.random.default_rng(3).normal(0.0, 1.0, (2, 4, looks, every)))
    np.testing.assert_allclose(sums[0][0][:, -1], raw[0].reshape(4, -1).sum(axis=1))
    np.testing.assert_allclose(sums[1][1][:, 2], (raw[1][:, :3] ** 2).reshape(4, -1).sum(axis=1))
    expected = np.zeros(4, dtype=bool)
    for r in range(4):
        for k in range(2, looks):  # burn-in: 100 units per arm, the look at 120
            p = stats.ttest_ind(raw[0][r, :k + 1].ravel(), raw[1][r, :k + 1].ravel(),
                                equal_var=False).pvalue
            expected[r] |= p <= 0.05
    np.testing.assert_array_equal(t_test_decides(sums, every), expected)


def test_the_always_valid_test_finds_a_better_challenger_and_not_an_equal_one() -> None:
    rng = np.random.default_rng(5)
    equal = list(look_sums(rng, 40, 50, 40, 1.0))
    assert always_valid_decides(equal, 50).sum() <= 4  # about 5% at most of 40
    champion, challenger = equal
    better = [champion, (challenger[0] * 0.7, challenger[1] * 0.49)]
    assert always_valid_decides(better, 50).all()
