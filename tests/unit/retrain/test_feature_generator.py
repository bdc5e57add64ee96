"""The generative model: shapes, moments, label rule, and drift confined to its target."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from retrain.synthetic import FEATURES, NOMINAL_MOMENTS, SEGMENTS, Drift, FeatureGenerator

N = 40_000


@pytest.fixture(scope="module")
def pair() -> tuple:
    """The same seeded draw twice: without drift and with f3 drifting in eu/mobile."""
    drift = Drift("f3", shift=1.5, segment={"region": "eu", "device": "mobile"})
    return FeatureGenerator(11).sample(N), FeatureGenerator(11).sample(N, drift=drift), drift


def test_shapes_types_and_segment_values() -> None:
    batch = FeatureGenerator(0).sample(500)
    assert batch.features.shape == (500, len(FEATURES)) and batch.features.dtype == np.float64
    assert batch.labels.shape == (500,) and set(np.unique(batch.labels)) <= {0, 1}
    assert all(row[k] in SEGMENTS[k] for row in batch.segments for k in SEGMENTS)


def test_same_seed_same_data_and_stream_continues() -> None:
    a, b = FeatureGenerator(3), FeatureGenerator(3)
    first = a.sample(100)
    np.testing.assert_array_equal(first.features, b.sample(100).features)
    assert first.segments == FeatureGenerator(3).sample(100).segments
    assert not np.array_equal(first.features, a.sample(100).features)


def test_feature_moments_match_their_closed_forms() -> None:
    x = FeatureGenerator(5).sample(N).features
    for j, name in enumerate(FEATURES):
        mean, std = NOMINAL_MOMENTS[name]
        assert abs(x[:, j].mean() - mean) < 5 * std / np.sqrt(N), name
        assert abs(x[:, j].std() / std - 1) < 0.05, name


def test_feature_shapes_differ() -> None:
    x = FeatureGenerator(5).sample(N).features
    assert stats.skew(x[:, 1]) > 1.5  # log-normal spend
    assert x[:, 2].min() >= 0.0 and x[:, 2].max() <= 1.0  # bounded uniform
    assert np.array_equal(x[:, 4], np.round(x[:, 4]))  # counts
    assert abs(stats.skew(x[:, 0])) < 0.1  # normal


def test_labels_follow_the_rule_and_are_balanced() -> None:
    batch = FeatureGenerator(2).sample(N)
    assert 0.4 < batch.labels.mean() < 0.6
    # calibration: mean label within probability deciles matches mean probability
    bins = np.digitize(batch.p_true, np.linspace(0.1, 0.9, 9))
    for b in np.unique(bins):
        rows = bins == b
        se = np.sqrt(batch.p_true[rows].mean() * (1 - batch.p_true[rows].mean()) / rows.sum())
        assert abs(batch.labels[rows].mean() - batch.p_true[rows].mean()) < 5 * se + 1e-3
    bayes = np.maximum(batch.p_true, 1 - batch.p_true).mean()
    assert 0.88 < bayes < 0.95


def test_drift_moves_only_the_feature_in_the_segment(pair: tuple) -> None:
    base, drifted, drift = pair
    mask = base.mask(drift.segment)
    assert base.segments == drifted.segments
    j = FEATURES.index("f3")
    delta = drifted.features[mask, j] - base.features[mask, j]
    np.testing.assert_allclose(delta, 1.5 * NOMINAL_MOMENTS["f3"][1])
    other = np.ones(len(FEATURES), dtype=bool)
    other[j] = False
    np.testing.assert_array_equal(drifted.features[:, other], base.features[:, other])
    np.testing.assert_array_equal(drifted.features[~mask, j], base.features[~mask, j])
    assert stats.ks_2samp(drifted.features[mask, j], base.features[mask, j]).pvalue < 1e-10


def test_drift_detectable_in_segment_not_outside() -> None:
    drift = Drift("f0", shift=0.5, scale=2.0, segment={"region": "apac"})
    ref = FeatureGenerator(21).sample(N)
    live = FeatureGenerator(22).sample(N, drift=drift)
    inside, outside = live.mask(drift.segment), ~live.mask(drift.segment)
    assert stats.ks_2samp(live.features[inside, 0], ref.features[:, 0]).pvalue < 1e-10
    assert stats.ks_2samp(live.features[outside, 0], ref.features[:, 0]).pvalue > 1e-3
    assert abs(live.features[inside, 0].mean() - (45 + 0.5 * 12)) < 0.5
    assert abs(live.features[inside, 0].std() / 24 - 1) < 0.05


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"feature": "f9", "shift": 1.0}, "Drift.feature"),
        ({"feature": "f0", "shift": float("nan")}, "Drift.shift"),
        ({"feature": "f0", "shift": 1.0, "scale": 0.0}, "Drift.scale"),
        ({"feature": "f0", "shift": 1.0, "segment": {"region": "mars"}}, "Drift.segment"),
    ],
)
def test_bad_drift_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Drift(**kwargs)
