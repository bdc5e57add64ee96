"""The reference profile: decile edges and counts agree with numpy, and round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detectors.reference.profile import ReferenceProfile
from retrain.synthetic import FEATURES, FeatureGenerator


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return FeatureGenerator(4).sample(3000).features


def test_edges_are_deciles_and_counts_match_histogram(X: np.ndarray) -> None:
    prof = ReferenceProfile.from_features("churn", "v1", FEATURES, X)
    assert prof.n == 3000
    for j in range(len(FEATURES)):
        expected = np.unique(np.quantile(X[:, j], np.arange(1, 10) / 10))
        np.testing.assert_array_equal(prof.edges[j], expected)
        hist, _ = np.histogram(X[:, j], bins=np.concatenate(([-np.inf], expected, [np.inf])))
        np.testing.assert_array_equal(prof.counts[j], hist)
        assert prof.counts[j].sum() == 3000


def test_continuous_features_get_ten_even_bins(X: np.ndarray) -> None:
    prof = ReferenceProfile.from_features("churn", "v1", FEATURES, X)
    assert len(prof.edges[0]) == 9
    np.testing.assert_allclose(prof.proportions()[0], 0.1, atol=1e-3)


def test_count_feature_edges_are_deduplicated(X: np.ndarray) -> None:
    prof = ReferenceProfile.from_features("churn", "v1", FEATURES, X)
    edges = prof.edges[FEATURES.index("f4")]  # Poisson(3): only a few distinct deciles
    assert len(edges) < 9 and np.all(np.diff(edges) > 0)
    assert len(prof.counts[FEATURES.index("f4")]) == len(edges) + 1


def test_bin_indices_match_searchsorted_on_boundaries() -> None:
    prof = ReferenceProfile("m", "v", ("a",), [np.array([1.0, 2.0])], [np.array([1, 1, 1])], 3)
    got = prof.bin_indices(np.array([[0.5], [1.0], [1.5], [2.0], [9.0]]))
    assert got[:, 0].tolist() == [0, 1, 1, 2, 2]


def test_json_and_file_round_trip(tmp_path: Path, X: np.ndarray) -> None:
    prof = ReferenceProfile.from_features("churn", "v3", FEATURES, X)
    again = ReferenceProfile.from_json(prof.to_json())
    assert again == prof
    prof.save(tmp_path / "reference.json")
    loaded = ReferenceProfile.load(tmp_path / "reference.json")
    assert loaded == prof and loaded.names == FEATURES
    np.testing.assert_array_equal(loaded.bin_indices(X), prof.bin_indices(X))
    assert [p.name for p in tmp_path.iterdir()] == ["reference.json"]


def test_bad_inputs_raise(X: np.ndarray) -> None:
    with pytest.raises(ValueError, match="matching names"):
        ReferenceProfile.from_features("m", "v", ["a"], X)
    with pytest.raises(ValueError, match="n_bins"):
        ReferenceProfile.from_features("m", "v", FEATURES, X, n_bins=1)
    with pytest.raises(ValueError, match="finite"):
        ReferenceProfile.from_features("m", "v", FEATURES, np.where(X > 1e9, 0, np.nan))
    prof = ReferenceProfile.from_features("m", "v", FEATURES, X)
    with pytest.raises(ValueError, match="matrix"):
        prof.bin_indices(X[:, :3])
    with pytest.raises(ValueError, match="schema_version"):
        ReferenceProfile.from_json('{"schema_version": 99}')


def test_bounds_are_reference_quantiles_and_shares_outside_them(X: np.ndarray) -> None:
    prof = ReferenceProfile.from_features("churn", "v1", FEATURES, X, bound_quantile=0.01)
    low, high = np.quantile(X, [0.01, 0.99], axis=0)
    np.testing.assert_array_equal(prof.low, low)
    np.testing.assert_array_equal(prof.high, high)
    outside = [np.count_nonzero((col < lo) | (col > hi)) / len(col)
               for col, lo, hi in zip(X.T, low, high, strict=True)]
    np.testing.assert_array_equal(prof.out_of_range, outside)
    assert prof.out_of_range.max() <= 0.02 + 1e-12
    np.testing.assert_array_equal(prof.missing, np.zeros(len(FEATURES)))
    with pytest.raises(ValueError, match="bound_quantile"):
        ReferenceProfile.from_features("m", "v", FEATURES, X, bound_quantile=0.5)


def test_a_profile_saved_without_bounds_loads_unbounded(X: np.ndarray) -> None:
    import json

    doc = json.loads(ReferenceProfile.from_features("churn", "v1", FEATURES, X).to_json())
    for key in ("low", "high", "out_of_range", "missing"):
        del doc[key]
    old = ReferenceProfile.from_json(json.dumps(doc))
    assert np.isneginf(old.low).all() and np.isposinf(old.high).all()
    assert not old.out_of_range.any() and not old.missing.any()
    # and it saves again without writing an infinity JSON cannot hold
    assert ReferenceProfile.from_json(old.to_json()) == old
