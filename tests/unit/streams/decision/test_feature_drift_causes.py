"""A feature-drift alert names its top three causes by estimated cost (issue 24, item 3):
the feature the model relies on before the one that moved most."""

from __future__ import annotations

import numpy as np

from detectors.reference.importance import ReferenceImportance
from detectors.reference.profile import ReferenceProfile
from streams.decision.alert_book import AlertBook
from streams.decision.config import DecisionConfig
from streams.decision.feature_drift import FeatureDrift
from streams.decision.state import ModelState
from streams.decision.window import GLOBAL, DecisionWindow

NAMES = ["x_ignored", "x_matters", "x_some", "x_still"]
CONFIG = DecisionConfig()


def _setup() -> tuple[ReferenceProfile, DecisionWindow]:
    rng = np.random.default_rng(7)
    ref = ReferenceProfile.from_features("churn", "v1", NAMES, rng.normal(size=(5000, 4)))
    X = rng.normal(size=(2000, 4)) + np.array([2.0, 0.4, 0.0, 0.0])
    bins = ref.bin_indices(X)
    hists = {n: np.bincount(bins[:, j], minlength=len(ref.counts[j]))
             for j, n in enumerate(NAMES)}
    win = DecisionWindow("churn", "A", opened=0.0, n=2000, window_start=0.0, window_end=1.0,
                         histograms={GLOBAL: hists})
    return ref, win


def _importance() -> ReferenceImportance:
    return ReferenceImportance("churn", "v1", tuple(NAMES), (0.0, 0.30, 0.05, 0.01),
                               "error_rate", 5000)


def test_the_alert_summary_names_the_costliest_first_not_the_largest_psi() -> None:
    ref, win = _setup()
    judge = FeatureDrift(lambda m: ref, CONFIG, lambda m: _importance())
    [verdict] = judge.judge(win, ModelState("churn", CONFIG))
    assert verdict.bad and verdict.evidence["feature"] == "x_ignored"  # identity: top PSI
    causes = str(verdict.evidence["causes"])
    assert causes.startswith("by estimated cost: x_matters +")
    assert [part.split(" ")[0] for part in causes.split(": ", 1)[1].split(", ")] == [
        "x_matters", "x_some", "x_still"]  # x_ignored costs nothing: not in the top three
    book = AlertBook(fire_after=1, resolve_after=1)
    alert = book.observe("churn", "A", verdict, now=1.0, describe=judge.describe,
                         dashboard="http://grafana/d/x")
    assert alert is not None
    assert "by estimated cost: x_matters" in alert.annotations["summary"].splitlines()[0]
    assert verdict.report is not None and verdict.report.evidence["causes"] == causes


def test_without_an_importance_file_the_alert_is_as_before() -> None:
    ref, win = _setup()
    for importance in (None, lambda m: None):
        [verdict] = FeatureDrift(lambda m: ref, CONFIG, importance).judge(
            win, ModelState("churn", CONFIG))
        assert verdict.bad and "causes" not in verdict.evidence


def test_the_resolve_summary_has_no_stale_ranking() -> None:
    assert FeatureDrift.describe({"feature": "f2", "segment": "*", "psi": 0.01}) == (
        "input drift in f2 (segment *)")
