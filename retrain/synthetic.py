"""The generative model of the traffic: features, segments and true labels.

One model serves both the trainer (which fits a classifier to it) and the traffic
simulator (which sends it to the inference agents), so the served model meets the data
it was trained on, until a :class:`Drift` moves one feature in one segment.

The eight features have different shapes and scales, as real ones do:

====  ==========================  =====================  =====  =====
name  shape                       reads as               mean   std
====  ==========================  =====================  =====  =====
f0    normal(45, 12)              age in years           45     12
f1    log-normal(3.5, 0.7)        monthly spend          42.3   33.6
f2    uniform(0, 1)               share of a quota used  0.5    0.289
f3    gamma(2, 4), right-skewed   days since last visit  8      5.66
f4    Poisson(3), counts          support tickets        3      1.73
f5    normal(0, 1)                an engineered score    0      1
f6    100 * beta(2, 5), bounded   completion percent     28.6   16.0
f7    uniform(-20, 20)            a signed balance       0      11.5
====  ==========================  =====================  =====  =====

The means and stds are exact (``NOMINAL_MOMENTS``); a drift's shift is in these stds.

The label is 1 with probability ``sigmoid(logit(x, segment))``, a fixed nonlinear rule
of the standardised features plus a small offset by region and an extra slope on
mobile. A drift moves features only: the labels of drifted rows still follow the same
rule (a covariate shift), so a model degrades only where it extrapolates.

Examples
--------
>>> gen = FeatureGenerator(seed=7)
>>> batch = gen.sample(4)
>>> batch.features.shape, batch.labels.shape, len(batch.segments)
((4, 8), (4,), 4)
>>> sorted(batch.segments[0])
['device', 'region']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["FEATURES", "SEGMENTS", "Batch", "Drift", "FeatureGenerator"]

FEATURES: tuple[str, ...] = tuple(f"f{i}" for i in range(8))
SEGMENTS: dict[str, tuple[str, ...]] = {
    "region": ("eu", "us", "apac"),
    "device": ("mobile", "desktop"),
}
#: how often each segment value occurs, in the order of SEGMENTS
SEGMENT_SHARES: dict[str, tuple[float, ...]] = {
    "region": (0.45, 0.35, 0.20),
    "device": (0.60, 0.40),
}

_LOGNORMAL_MU, _LOGNORMAL_SIGMA = 3.5, 0.7
_GAMMA_SHAPE, _GAMMA_SCALE = 2.0, 4.0
_POISSON_LAM = 3.0
_BETA_A, _BETA_B = 2.0, 5.0


def _lognormal_moments(mu: float, sigma: float) -> tuple[float, float]:
    mean = math.exp(mu + sigma**2 / 2)
    return mean, mean * math.sqrt(math.exp(sigma**2) - 1)


def _beta_moments(a: float, b: float, scale: float) -> tuple[float, float]:
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    return scale * mean, scale * math.sqrt(var)


#: the closed-form mean and standard deviation of each feature without drift
NOMINAL_MOMENTS: dict[str, tuple[float, float]] = {
    "f0": (45.0, 12.0),
    "f1": _lognormal_moments(_LOGNORMAL_MU, _LOGNORMAL_SIGMA),
    "f2": (0.5, math.sqrt(1 / 12)),
    "f3": (_GAMMA_SHAPE * _GAMMA_SCALE, math.sqrt(_GAMMA_SHAPE) * _GAMMA_SCALE),
    "f4": (_POISSON_LAM, math.sqrt(_POISSON_LAM)),
    "f5": (0.0, 1.0),
    "f6": _beta_moments(_BETA_A, _BETA_B, 100.0),
    "f7": (0.0, 40.0 / math.sqrt(12)),
}

# Sharpness of the label rule: at 3.0 the Bayes accuracy is about 0.92, and a small
# model that sees the features but not the segments reaches about 0.88.
_SHARPNESS = 3.0
_REGION_OFFSET = {"eu": 0.3, "us": 0.0, "apac": -0.4}


@dataclass(frozen=True)
class Drift:
    """A shift and rescaling of one feature, in the rows of one segment (or all rows).

    Parameters
    ----------
    feature
        Name of the feature that drifts, one of :data:`FEATURES`.
    shift
        Added to the feature, in units of its nominal standard deviation.
    scale
        Spread multiplier around the feature's nominal mean (1.0 keeps the spread).
    segment
        Only rows whose segments contain all these labels drift; None means every row.
    """

    feature: str
    shift: float
    scale: float = 1.0
    segment: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.feature not in FEATURES:
            raise ValueError(f"Drift.feature must be one of {FEATURES}, got {self.feature!r}")
        if not math.isfinite(self.shift):
            raise ValueError(f"Drift.shift must be a finite number, got {self.shift!r}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"Drift.scale must be a finite number > 0, got {self.scale!r}")
        for key, value in (self.segment or {}).items():
            if value not in SEGMENTS.get(key, ()):
                raise ValueError(
                    f"Drift.segment[{key!r}] must be one of {SEGMENTS.get(key)} "
                    f"(segment keys: {tuple(SEGMENTS)}), got {value!r}"
                )


@dataclass
class Batch:
    """A sample of traffic: features, segment labels and true labels, row-aligned.

    Attributes
    ----------
    features
        ``(n, 8)`` float64, columns in :data:`FEATURES` order.
    segments
        One dict per row, e.g. ``{"region": "eu", "device": "mobile"}``.
    labels
        ``(n,)`` int64 true labels in {0, 1}.
    p_true
        ``(n,)`` float64 probability of label 1 under the generative rule.
    """

    features: np.ndarray
    segments: list[dict[str, str]]
    labels: np.ndarray
    p_true: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def mask(self, segment: Mapping[str, str] | None) -> np.ndarray:
        """Boolean ``(n,)`` mask of the rows whose segments contain all of ``segment``."""
        if not segment:
            return np.ones(len(self), dtype=bool)
        items = tuple(segment.items())
        return np.fromiter(
            (all(row.get(k) == v for k, v in items) for row in self.segments),
            dtype=bool,
            count=len(self),
        )


class FeatureGenerator:
    """Draws traffic from the fixed generative model, reproducibly for a seed.

    Parameters
    ----------
    seed
        Seed of the generator's ``numpy.random.Generator`` (or the generator itself);
        successive :meth:`sample` calls continue one random stream.
    """

    def __init__(self, seed: int | np.random.Generator) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def sample(self, n: int, *, drift: Drift | None = None) -> Batch:
        """Draw ``n`` rows, with ``drift`` applied to its segment's rows if given."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = self._rng
        codes = {
            key: rng.choice(len(values), size=n, p=SEGMENT_SHARES[key])
            for key, values in SEGMENTS.items()
        }
        segments = [{key: SEGMENTS[key][int(codes[key][i])] for key in SEGMENTS} for i in range(n)]
        x = self._draw_features(n)
        batch = Batch(x, segments, np.zeros(n, dtype=np.int64), np.zeros(n))
        if drift is not None:
            _apply_drift(batch, drift)
        batch.p_true = label_probability(x, codes["region"], codes["device"])
        batch.labels = (rng.random(n) < batch.p_true).astype(np.int64)
        return batch

    def _draw_features(self, n: int) -> np.ndarray:
        rng = self._rng
        columns = (
            rng.normal(45.0, 12.0, n),
            rng.lognormal(_LOGNORMAL_MU, _LOGNORMAL_SIGMA, n),
            rng.uniform(0.0, 1.0, n),
            rng.gamma(_GAMMA_SHAPE, _GAMMA_SCALE, n),
            rng.poisson(_POISSON_LAM, n).astype(np.float64),
            rng.normal(0.0, 1.0, n),
            100.0 * rng.beta(_BETA_A, _BETA_B, n),
            rng.uniform(-20.0, 20.0, n),
        )
        return np.column_stack(columns)


def _apply_drift(batch: Batch, drift: Drift) -> None:
    j = FEATURES.index(drift.feature)
    mean, std = NOMINAL_MOMENTS[drift.feature]
    rows = batch.mask(drift.segment)
    col = batch.features[rows, j]
    batch.features[rows, j] = mean + (col - mean) * drift.scale + drift.shift * std


def label_probability(x: np.ndarray, region: np.ndarray, device: np.ndarray) -> np.ndarray:
    """Probability of label 1 for features ``x`` and segment codes (indices in SEGMENTS).

    Examples
    --------
    >>> x = np.array([[45.0, 33.0, 0.5, 8.0, 3.0, 0.0, 28.6, 0.0]])
    >>> p = label_probability(x, np.array([1]), np.array([1]))
    >>> bool(0.0 < p[0] < 1.0)
    True
    """
    z = {
        name: (x[:, j] - NOMINAL_MOMENTS[name][0]) / NOMINAL_MOMENTS[name][1]
        for j, name in enumerate(FEATURES)
    }
    log_spend = (np.log(np.maximum(x[:, 1], 1e-9)) - _LOGNORMAL_MU) / _LOGNORMAL_SIGMA
    offsets = np.array([_REGION_OFFSET[r] for r in SEGMENTS["region"]])
    mobile = device == SEGMENTS["device"].index("mobile")
    logit = (
        1.2 * z["f5"]
        - 0.9 * z["f3"]
        + 0.9 * z["f0"] * z["f2"]
        + 0.7 * (log_spend**2 - 1.0)
        + 1.0 * np.tanh(1.5 * z["f7"])
        - 0.5 * z["f4"]
        + np.where(mobile, 0.6, 0.2) * z["f6"]
        + offsets[region]
    )
    return 1.0 / (1.0 + np.exp(-_SHARPNESS * logit))
