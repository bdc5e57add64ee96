"""A regression model's error estimated before the labels arrive (direct loss estimation).

As NannyML's DLE: on the labelled reference, a second model learns the first one's loss
from what is known without the label (its inputs and its prediction); a window's
estimated MAE is then the mean predicted absolute error of its rows, and its RMSE the
root of the mean predicted squared error. Like CBPE it assumes covariate shift only:
``P(error | inputs, prediction)`` learnt on the reference still holds.

The loss model here is an additive model of boosted stumps on quantile bins
(:class:`AdditiveLoss`), numpy only, where NannyML fits LightGBM trees. Why this one:

- the loss of a regression model is rarely linear in its inputs (it grows on both sides
  of where the model was fitted, and with the noise's own spread), so a ridge regression
  misses it; stumps on bins follow any monotone or U shape per input;
- each input's part collapses into one step function over its bin edges, so the saved
  model is a few tables and scoring a window is one ``searchsorted`` per input;
- it has no interactions between inputs (LightGBM's trees have): the bench
  (``bench/dle.py``) measures what that costs beside NannyML.

The band: the realised MAE of a window is a mean of independent ``|e_i|``, so it differs
from the estimate by ``sqrt(sum Var|e_i|) / n``, with ``Var|e_i| = E[e_i^2] - E|e_i|^2``
read from the two loss models on the window's own rows (as the CBPE band follows the
window's confidences); the RMSE's, by the delta method, from the spread of the squared
error around its model on the reference. Both are ``z = 3`` standard errors wide.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(0, 1, (4000, 1))
>>> y = x[:, 0] + rng.normal(0, 0.2 + np.abs(x[:, 0]))  # the noise grows with |x|
>>> est = ErrorEstimate.fit(x, np.zeros(4000) + x[:, 0], y)
>>> calm, wide = est.window(x[:500], x[:500, 0]), est.window(2 * x[:500], 2 * x[:500, 0])
>>> bool(wide.mae > 1.5 * calm.mae), bool(calm.mae_band[0] < calm.mae < calm.mae_band[1])
(True, True)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detectors.loss_model import AdditiveLoss

__all__ = ["FILE_NAME", "ErrorEstimate", "WindowError"]

#: File name of a model version's error estimator, beside the model.
FILE_NAME = "error_estimate.json"


@dataclass(frozen=True)
class WindowError:
    """A window's estimated MAE and RMSE, with their bands (``z`` standard errors)."""

    n: int
    mae: float
    mae_band: tuple[float, float]
    rmse: float
    rmse_band: tuple[float, float]


@dataclass(frozen=True)
class ErrorEstimate:
    """Loss models of one model version, fitted on its labelled reference.

    ``absolute`` predicts ``|y - y_hat|`` and ``squared`` predicts ``(y - y_hat)^2`` from
    the inputs and the prediction (its last column); ``squared_spread`` is the standard
    deviation of the squared error around ``squared`` on the reference; ``reference_mae``
    and ``reference_rmse`` are the realised errors there.
    """

    absolute: AdditiveLoss
    squared: AdditiveLoss
    squared_spread: float
    reference_mae: float
    reference_rmse: float
    z: float = 3.0

    @classmethod
    def fit(cls, features: Any, predictions: Any, targets: Any, *, z: float = 3.0,
            seed: int = 0) -> ErrorEstimate:
        """Fit on the reference: ``features`` (n, d), the model's ``predictions`` and the
        true ``targets`` (n each)."""
        x = _design(features, predictions)
        y = np.asarray(targets, dtype=float).ravel()
        if y.size != x.shape[0] or not np.isfinite(y).all():
            raise ValueError(f"targets must be {x.shape[0]} finite values, got {y.size}")
        if not z > 0:
            raise ValueError(f"z must be positive, got {z}")
        error = y - x[:, -1]
        absolute = AdditiveLoss.fit(x, np.abs(error), seed=seed)
        squared = AdditiveLoss.fit(x, error ** 2, seed=seed)
        spread = float(np.std(error ** 2 - squared.predict(x)))
        return cls(absolute, squared, spread, float(np.mean(np.abs(error))),
                   float(math.sqrt(np.mean(error ** 2))), z)

    def window(self, features: Any, predictions: Any) -> WindowError:
        """The estimate for a window's rows: ``features`` (n, d) and ``predictions``."""
        x = _design(features, predictions)
        n = x.shape[0]
        if n == 0:
            return WindowError(0, math.nan, (math.nan, math.nan), math.nan, (math.nan, math.nan))
        a, s = self.absolute.predict(x), self.squared.predict(x)
        mae, mse = float(a.mean()), float(s.mean())
        mae_se = math.sqrt(float(np.maximum(s - a ** 2, 0.0).sum())) / n
        rmse = math.sqrt(mse)
        rmse_se = self.squared_spread / math.sqrt(n) / (2.0 * rmse) if rmse > 0 else 0.0
        return WindowError(n, mae, _band(mae, self.z * mae_se), rmse,
                           _band(rmse, self.z * rmse_se))

    def to_json(self) -> str:
        return json.dumps({"absolute": self.absolute.to_dict(),
                           "squared": self.squared.to_dict(),
                           "squared_spread": self.squared_spread,
                           "reference_mae": self.reference_mae,
                           "reference_rmse": self.reference_rmse, "z": self.z})

    @classmethod
    def from_json(cls, text: str) -> ErrorEstimate:
        raw = json.loads(text)
        return cls(AdditiveLoss.from_dict(raw["absolute"]),
                   AdditiveLoss.from_dict(raw["squared"]), float(raw["squared_spread"]),
                   float(raw["reference_mae"]), float(raw["reference_rmse"]),
                   float(raw.get("z", 3.0)))

    def save(self, folder: Path) -> Path:
        """Write ``error_estimate.json`` into a version folder; returns its path."""
        path = Path(folder) / FILE_NAME
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, folder: Path) -> ErrorEstimate:
        """Read a version folder's estimator; ValueError naming the file if it is not one."""
        path = Path(folder) / FILE_NAME
        try:
            return cls.from_json(path.read_text())
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not an error estimate: {exc}") from exc


def _design(features: Any, predictions: Any) -> np.ndarray:
    """The loss model's inputs: the features, then the prediction as the last column."""
    x = np.asarray(features, dtype=float)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    p = np.asarray(predictions, dtype=float).ravel()
    if x.ndim != 2 or p.size != x.shape[0]:
        raise ValueError(f"features must be (n, d) with one prediction per row, got "
                         f"{x.shape} and {p.size} predictions")
    out = np.column_stack((x, p))
    if not np.isfinite(out).all():
        bad = int(np.flatnonzero(~np.isfinite(out).all(axis=0))[0])
        name = "the prediction" if bad == x.shape[1] else f"feature column {bad}"
        raise ValueError(f"{name} holds a non-finite value")
    return out


def _band(value: float, half: float) -> tuple[float, float]:
    return max(value - half, 0.0), value + half
