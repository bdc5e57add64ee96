"""A regression's errors per window: sums that merge to numpy's MAE, RMSE and bias, and
the MAE test against the reference, checked against scipy's one-sample t-test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.reference.regression import ErrorReference
from detectors.regression_error import MaeShift, RegressionErrors


def _sums(errors: np.ndarray) -> RegressionErrors:
    out = RegressionErrors()
    for part in np.array_split(errors, 3):  # three partitions, merged
        out.add(part.size, float(np.abs(part).sum()), float((part ** 2).sum()),
                float(part.sum()))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_merged_sums_give_numpys_mae_rmse_and_bias(seed: int) -> None:
    error = np.random.default_rng(seed).normal(0.3, 2.0, 500)
    sums = _sums(error)
    assert sums.mae == pytest.approx(np.abs(error).mean(), rel=1e-12)
    assert sums.rmse == pytest.approx(np.sqrt((error ** 2).mean()), rel=1e-12)
    assert sums.bias == pytest.approx(error.mean(), rel=1e-12, abs=1e-12)
    assert sums.abs_sd == pytest.approx(np.abs(error).std(ddof=1), rel=1e-9)
    assert RegressionErrors.from_snapshot(sums.snapshot()) == sums


@pytest.mark.parametrize(("shift", "reference"), [(0.0, 1.6), (0.5, 1.6), (-0.3, 1.0),
                                                  (0.1, 2.5)])
def test_the_p_value_is_scipys_one_sample_t_test(shift: float, reference: float) -> None:
    error = np.random.default_rng(7).normal(shift, 2.0, 300)
    expected = stats.ttest_1samp(np.abs(error), reference, alternative="greater").pvalue
    assert MaeShift().p_value(_sums(error), reference) == pytest.approx(expected, rel=1e-8)


def test_a_window_is_worse_only_when_the_rise_is_significant_and_large() -> None:
    rng = np.random.default_rng(1)
    reference = float(np.abs(rng.normal(0, 1, 100_000)).mean())  # E|N(0,1)| = 0.798
    det = MaeShift(alpha=0.001, min_increase=0.2, min_window=30)
    same, biased = rng.normal(0, 1, 2000), rng.normal(1.0, 1, 2000)
    assert not det.judge(_sums(same), reference).worse
    v = det.judge(_sums(biased), reference)
    assert v.worse and v.bias == pytest.approx(1.0, abs=0.1) and v.mae > 1.2 * reference
    # significant but small: a 5 % rise on many values is not 20 % worse
    slight = rng.normal(0, 1.05, 200_000)
    assert det.p_value(_sums(slight), reference) < 0.001
    assert not det.judge(_sums(slight), reference).worse
    few = det.judge(_sums(biased[:10]), reference)
    assert few.p_value is None and not few.worse


def test_bad_settings_and_references_are_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        MaeShift(alpha=0.0)
    with pytest.raises(ValueError, match="reference_mae"):
        MaeShift().judge(RegressionErrors(), float("nan"))


def test_the_error_reference_is_numpys_on_the_holdout(tmp_path: object) -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(size=200)
    predicted = truth + rng.normal(0.2, 0.5, 200)
    ref = ErrorReference.from_holdout("price", "v1", predicted, truth)
    error = predicted - truth
    assert ref.mae == pytest.approx(np.abs(error).mean())
    assert ref.rmse == pytest.approx(np.sqrt((error ** 2).mean()))
    assert ref.bias == pytest.approx(error.mean()) and ref.n == 200
    with pytest.raises(ValueError, match="at least one finite"):
        ErrorReference.from_holdout("price", "v1", [np.nan], [1.0])
