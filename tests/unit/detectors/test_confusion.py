"""Multi-class windows: confusion counts and per-class recall and precision against
explicit loops, merging, and prediction drift over the classes against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.confusion import ConfusionCounts, class_drift, largest_drop


def _labels(seed: int, n: int = 3000, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    actual = rng.integers(0, k, n)
    predicted = np.where(rng.random(n) < 0.7, actual, rng.integers(0, k, n))
    return actual, predicted


@pytest.mark.parametrize("seed", range(3))
def test_recall_and_precision_are_those_of_explicit_loops(seed: int) -> None:
    actual, predicted = _labels(seed)
    cm = ConfusionCounts.from_pairs(actual, predicted, 4)
    for c in range(4):
        tp = np.sum((actual == c) & (predicted == c))
        assert cm.recall()[c] == pytest.approx(tp / np.sum(actual == c), abs=1e-12)
        assert cm.precision()[c] == pytest.approx(tp / np.sum(predicted == c), abs=1e-12)
    assert cm.accuracy() == pytest.approx(np.mean(actual == predicted), abs=1e-12)
    assert cm.n == actual.size


def test_partitions_merge_into_the_union() -> None:
    actual, predicted = _labels(5)
    whole = ConfusionCounts.from_pairs(actual, predicted, 4)
    left = ConfusionCounts.from_pairs(actual[:1000], predicted[:1000], 4)
    left.merge(ConfusionCounts.from_pairs(actual[1000:], predicted[1000:], 4).to_list())
    np.testing.assert_array_equal(left.counts, whole.counts)


def test_a_class_never_seen_has_no_recall_and_bad_labels_raise() -> None:
    cm = ConfusionCounts.from_pairs([0, 1, 1], [0, 1, 0], 3)
    assert np.isnan(cm.recall()[2]) and np.isnan(cm.precision()[2])
    with pytest.raises(ValueError, match=r"predicted labels must lie in 0\.\.2"):
        cm.add([0], [3])
    with pytest.raises(ValueError, match="shape"):
        cm.merge([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="at least 2"):
        ConfusionCounts(1)


def test_class_drift_is_pearsons_test_and_names_the_largest_contribution() -> None:
    ref = np.array([2600, 2400, 2500, 2500])
    window = np.array([200, 210, 520, 170])
    shift = class_drift(window, ref)
    expected = ref / ref.sum() * window.sum()
    chi2, p = stats.chisquare(window, expected)
    assert shift.chi2 == pytest.approx(chi2, rel=1e-9) and shift.p_value == pytest.approx(p)
    assert shift.label == int(np.argmax((window - expected) ** 2 / expected)) == 2
    assert shift.drifted and shift.window_share == pytest.approx(520 / 1100)
    calm = class_drift(np.array([260, 240, 250, 250]), ref)
    assert not calm.drifted
    with pytest.raises(ValueError, match="same classes"):
        class_drift(np.array([1, 2, 3]), ref)


def test_the_class_whose_recall_fell_most_is_named() -> None:
    assert largest_drop([0.9, 0.6, 0.85, 0.8], [0.9, 0.88, 0.9, 0.82]) == 1
    assert largest_drop([np.nan, np.nan], [0.5, 0.5]) == -1
