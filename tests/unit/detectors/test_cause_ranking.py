"""Causes ranked by cost (issue 24, item 3): permutation importance against closed forms,
the stored importance file, and the ranking on a simulation whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cityblock

from detectors.cause_ranking import describe_causes, rank_causes, top_causes, total_variation
from detectors.reference.importance import (
    FILE_NAME,
    ReferenceImportance,
    permutation_importance,
    write_importance,
)
from detectors.reference.profile import ReferenceProfile

NAMES = ("x_matters", "x_ignored", "x_some")


def test_importance_of_a_feature_to_itself_is_twice_its_variance() -> None:
    """predict = x0 and the model's own predictions as targets: shuffling x0 costs
    E[(x0 - x0')^2] = 2 Var(x0) in squared error; x1 costs nothing."""
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(0, 2.0, 20_000), rng.normal(size=20_000)])
    imp = permutation_importance(lambda A: A[:, 0], X, None, np.random.default_rng(4),
                                 loss="squared_error")
    assert imp[0] == pytest.approx(2 * X[:, 0].var(), rel=0.03)
    assert imp[1] == 0.0


def test_importance_of_a_threshold_rule_is_half_its_flips() -> None:
    """y = [x0 > 0] predicted exactly: shuffling x0 flips a row's class with chance 1/2."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 2))
    y = (X[:, 0] > 0).astype(int)
    imp = permutation_importance(lambda A: (A[:, 0] > 0).astype(float), X, y,
                                 np.random.default_rng(6))
    assert imp[0] == pytest.approx(0.5, abs=0.01) and imp[1] == 0.0


def test_bad_parameters_name_what_is_wrong() -> None:
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="loss must be one of"):
        permutation_importance(lambda A: A[:, 0], X, None, np.random.default_rng(0), loss="mae")
    with pytest.raises(ValueError, match="repeats must be an integer"):
        permutation_importance(lambda A: A[:, 0], X, None, np.random.default_rng(0), repeats=0)
    with pytest.raises(ValueError, match="names must name each"):
        write_importance(Path("."), "m", "v", ("a",), lambda A: A[:, 0], X, None,
                         np.random.default_rng(0))


def test_the_importance_file_round_trips_and_a_bad_one_is_named(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(200, 2))
    path = write_importance(tmp_path, "churn", "v3", ("a", "b"), lambda A: A[:, 1], X, None,
                            np.random.default_rng(1), loss="squared_error")
    assert path == tmp_path / FILE_NAME
    ref = ReferenceImportance.load(tmp_path)
    assert ref is not None and ref.loss == "squared_error" and ref.n == 200
    assert ref.of("a") == 0.0 and (ref.of("b") or 0.0) > 1.0 and ref.of("c") is None
    assert ReferenceImportance.load(tmp_path / "nowhere") is None
    path.write_text('{"model": "churn"}')
    with pytest.raises(ValueError, match=f"{FILE_NAME} is not a reference importance"):
        ReferenceImportance.load(tmp_path)


def test_total_variation_is_half_the_l1_distance_of_the_shares() -> None:
    r, w = np.array([10, 30, 60]), np.array([5, 5, 40])
    assert total_variation(r, w) == pytest.approx(0.5 * cityblock(r / r.sum(), w / w.sum()))
    with pytest.raises(ValueError, match="share their bins"):
        total_variation(np.array([1, 2]), np.array([1, 2, 3]))


def test_a_segment_cost_is_weighted_by_its_share_and_unknown_importance_ranks_last() -> None:
    ref = {"f": np.array([50, 50]), "g": np.array([50, 50])}
    windows = {"*": {"f": np.array([60, 40]), "g": np.array([50, 50])},
               "region=eu": {"f": np.array([20, 0]), "g": np.array([10, 10])}}
    causes = rank_causes(windows, ref, {"f": 0.4})
    by = {(c.segment, c.feature): c for c in causes}
    assert by[("region=eu", "f")].share == pytest.approx(0.2)
    assert by[("region=eu", "f")].cost == pytest.approx(0.2 * 0.4 * 0.5)
    assert by[("*", "f")].cost == pytest.approx(1.0 * 0.4 * 0.1)
    assert [c.cost is None for c in causes] == [False, False, True, True]
    assert [c.feature for c in top_causes(causes)] == ["f", "g"]


def _sample(rng: np.random.Generator, n: int, shift: tuple[float, float, float]
            ) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 3)) + np.array(shift)
    y = (1.5 * X[:, 0] + 0.5 * X[:, 2] + rng.normal(0, 0.5, n) > 0).astype(int)
    return X, y


def _ranking(seed: int) -> list[tuple[str, float]]:
    """A linear model fit on data where x_ignored plays no part; the window moves
    x_ignored by 2 sd and x_matters by 0.3 sd. Returns (feature, PSI), costliest first."""
    rng = np.random.default_rng(seed)
    X, y = _sample(rng, 3000, (0.0, 0.0, 0.0))
    w, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)

    def predict(A: np.ndarray) -> np.ndarray:
        return np.clip(w[0] + A @ w[1:], 0.0, 1.0)

    X_ref, y_ref = _sample(rng, 2000, (0.0, 0.0, 0.0))
    imp = permutation_importance(predict, X_ref, y_ref, rng)
    profile = ReferenceProfile.from_features("sim", "v1", list(NAMES), X_ref)
    X_win, _ = _sample(rng, 2000, (0.3, 2.0, 0.0))
    bins = profile.bin_indices(X_win)
    window = {name: np.bincount(bins[:, j], minlength=len(profile.counts[j]))
              for j, name in enumerate(NAMES)}
    causes = rank_causes({"*": window}, dict(zip(NAMES, profile.counts, strict=True)),
                         dict(zip(NAMES, imp.tolist(), strict=True)))
    return [(c.feature, c.psi) for c in causes]


def test_the_feature_that_matters_outranks_the_one_that_moved_most() -> None:
    """Issue 24's acceptance: first in at least 95% of 200 seeds; the ignored feature,
    whose PSI is far larger, is listed but never first."""
    first, ignored_first = 0, 0
    for seed in range(200):
        ranking = _ranking(seed)
        psi = dict(ranking)
        assert set(psi) == set(NAMES)  # every feature listed, the ignored one too
        assert psi["x_ignored"] > 5 * psi["x_matters"]  # it is the one that moved most
        first += ranking[0][0] == "x_matters"
        ignored_first += ranking[0][0] == "x_ignored"
    assert first >= 190, first
    assert ignored_first == 0


def test_the_alert_line_names_the_top_three_with_their_cost() -> None:
    ref = {f: np.array([50, 50]) for f in "abcd"}
    win = {"*": {"a": np.array([70, 30]), "b": np.array([90, 10]), "c": np.array([55, 45]),
                 "d": np.array([52, 48])}}
    causes = top_causes(rank_causes(win, ref, {"a": 0.5, "b": 0.01, "c": 0.2, "d": 0.0}))
    line = describe_causes(causes)
    assert line.startswith("by estimated cost: a +10.0 pts error (PSI ")
    assert [c.feature for c in causes] == ["a", "c", "b"]
