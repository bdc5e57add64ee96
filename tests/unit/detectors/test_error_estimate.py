"""DLE: the loss model against the bin means it converges to, and the window estimates
and bands against closed forms of a known error distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.error_estimate import FILE_NAME, ErrorEstimate
from detectors.loss_model import AdditiveLoss


def test_the_loss_model_learns_a_step_function_on_its_bins() -> None:
    x = np.random.default_rng(0).uniform(0, 4, (4000, 1))
    step = np.array([0.5, 2.0, 1.0, 3.0])[np.floor(x[:, 0]).astype(int)]
    model = AdditiveLoss.fit(x, step, bins=16, rounds=600, patience=600)
    grid = np.array([[0.5], [1.5], [2.5], [3.5]])
    np.testing.assert_allclose(model.predict(grid), [0.5, 2.0, 1.0, 3.0], atol=0.02)


def test_the_loss_model_is_additive_over_inputs() -> None:
    x = np.random.default_rng(1).uniform(-1, 1, (6000, 2))
    model = AdditiveLoss.fit(x, np.abs(x[:, 0]) + 2 * (x[:, 1] > 0), bins=32, rounds=1500)
    pred = model.predict(np.array([[-0.9, -0.5], [-0.9, 0.5], [0.0, 0.5]]))
    assert pred[1] - pred[0] == pytest.approx(2.0, abs=0.05)
    assert pred[1] - pred[2] == pytest.approx(0.9, abs=0.08)


def _noise(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and errors ``e ~ N(0, sd(x))`` with ``sd = 0.2 + |x1|``."""
    x = rng.normal(0, 1, (n, 2))
    return x, rng.normal(0.0, 0.2 + np.abs(x[:, 0]))


@pytest.mark.parametrize(("loc", "scale"), [(0.0, 1.0), (1.0, 0.6)])
def test_the_window_estimate_is_the_closed_form_error_of_its_rows(loc: float,
                                                                 scale: float) -> None:
    """Within the reference's support (beyond it the loss model is flat, as LightGBM's)."""
    rng = np.random.default_rng(2)
    x, e = _noise(rng, 30_000)
    pred = x[:, 1]  # the prediction carries no information on the error
    est = ErrorEstimate.fit(x, pred, pred + e)
    window = rng.normal(loc, scale, (2000, 2))
    sd = 0.2 + np.abs(window[:, 0])
    got = est.window(window, window[:, 1])
    # E|e| of a centred normal is sd * sqrt(2 / pi); E e^2 is sd^2
    assert got.mae == pytest.approx(np.mean(sd) * math.sqrt(2 / math.pi), rel=0.05)
    assert got.rmse == pytest.approx(math.sqrt(np.mean(sd ** 2)), rel=0.06)
    assert est.reference_mae == pytest.approx(np.mean(np.abs(e)), abs=1e-12)


def test_the_realised_error_falls_in_the_band_as_often_as_three_sigma_says() -> None:
    rng = np.random.default_rng(3)
    x, e = _noise(rng, 30_000)
    est = ErrorEstimate.fit(x, x[:, 1], x[:, 1] + e)
    inside_mae, inside_rmse = [], []
    for _ in range(200):
        wx, we = _noise(rng, 500)
        got = est.window(wx, wx[:, 1])
        mae, rmse = np.mean(np.abs(we)), math.sqrt(np.mean(we ** 2))
        inside_mae.append(got.mae_band[0] <= mae <= got.mae_band[1])
        inside_rmse.append(got.rmse_band[0] <= rmse <= got.rmse_band[1])
    # 3 sigma holds 99.7 %; the loss model's own error takes some of it
    assert np.mean(inside_mae) >= 0.95
    assert np.mean(inside_rmse) >= 0.95


def test_the_estimator_round_trips_beside_the_version(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    x, e = _noise(rng, 3000)
    est = ErrorEstimate.fit(x, x[:, 1], x[:, 1] + e)
    assert est.save(tmp_path).name == FILE_NAME
    back = ErrorEstimate.load(tmp_path)
    assert back.window(x[:100], x[:100, 1]) == est.window(x[:100], x[:100, 1])
    (tmp_path / FILE_NAME).write_text("{}")
    with pytest.raises(ValueError, match=FILE_NAME):
        ErrorEstimate.load(tmp_path)


def test_bad_inputs_name_what_is_wrong() -> None:
    x = np.zeros((100, 2))
    with pytest.raises(ValueError, match="one prediction per row"):
        ErrorEstimate.fit(x, np.zeros(99), np.zeros(100))
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="feature column 1"):
        ErrorEstimate.fit(x, np.zeros(100), np.zeros(100))
    with pytest.raises(ValueError, match="targets"):
        ErrorEstimate.fit(np.zeros((100, 2)), np.zeros(100), np.full(100, np.inf))
    empty = ErrorEstimate.fit(np.random.default_rng(0).normal(size=(100, 1)), np.zeros(100),
                              np.random.default_rng(1).normal(size=100))
    assert empty.window(np.zeros((0, 1)), np.zeros(0)).n == 0
