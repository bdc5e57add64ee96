"""Training sets: validation of their shape, time-ordered splits, segment masks."""

from __future__ import annotations

import numpy as np
import pytest

from retrain.training_set import TrainingSet


def _rows(n: int = 10) -> TrainingSet:
    return TrainingSet(
        np.arange(2 * n, dtype=float).reshape(n, 2), np.arange(n) % 2, ("a", "b"),
        [{"region": "eu" if i % 3 else "us"} for i in range(n)], np.arange(n, dtype=float))


def test_split_recent_holds_out_the_newest_rows() -> None:
    older, recent = _rows().split_recent(0.3)
    assert older.timestamps.tolist() == list(range(7))  # type: ignore[union-attr]
    assert recent.timestamps.tolist() == [7.0, 8.0, 9.0]  # type: ignore[union-attr]
    assert [r["region"] for r in recent.segments] == ["eu", "eu", "us"]
    np.testing.assert_array_equal(recent.labels, [1, 0, 1])


def test_segment_masks_match_a_numpy_comparison() -> None:
    rows = _rows(12)
    masks = rows.segment_masks(["region"])
    expected = np.arange(12) % 3 == 0
    np.testing.assert_array_equal(masks["region=us"], expected)
    np.testing.assert_array_equal(masks["region=eu"], ~expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": np.zeros((3, 3))}, "features must be"),
        ({"labels": np.array([0.5, 1, 0])}, "labels must be"),
        ({"features": np.array([[np.nan, 0.0]] * 3)}, "NaN"),
        ({"segments": [{}]}, "segments has 1 rows"),
        ({"timestamps": np.array([3.0, 2.0, 1.0])}, "non-decreasing"),
    ],
)
def test_bad_rows_raise(kwargs: dict, match: str) -> None:
    base = {"features": np.zeros((3, 2)), "labels": np.array([0, 1, 0]),
            "feature_names": ("a", "b")}
    with pytest.raises(ValueError, match=match):
        TrainingSet(**{**base, **kwargs})


def test_split_needs_rows_on_both_sides() -> None:
    with pytest.raises(ValueError, match="fraction"):
        _rows().split_recent(1.0)
    with pytest.raises(ValueError, match="no older rows"):
        _rows(1).split_recent(0.5)
