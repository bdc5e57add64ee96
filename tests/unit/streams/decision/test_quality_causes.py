"""Data-quality and category-drift alerts rank their causes by estimated cost too (issue
24, item 3): the input the model relies on before the one with the most bad values."""

from __future__ import annotations

import numpy as np

from detectors.cause_ranking import rank_bad_values
from detectors.reference.categories import CategoryProfile
from detectors.reference.importance import ReferenceImportance
from detectors.reference.profile import ReferenceProfile
from streams.decision.category_drift import CategoryDrift
from streams.decision.config import DecisionConfig
from streams.decision.data_quality import DataQuality
from streams.decision.state import ModelState
from streams.decision.window import GLOBAL, DecisionWindow

NAMES = ("a_ignored", "b_matters", "c")
CONFIG = DecisionConfig(quality_tolerance=0.01, quality_alpha=0.001)
VOCAB = {"plan": ("free", "pro"), "channel": ("web", "app")}


def _importance(values: dict[str, float]) -> ReferenceImportance:
    return ReferenceImportance("churn", "v1", tuple(values), tuple(values.values()),
                               "error_rate", 5000)


def test_bad_values_cost_their_excess_share_times_importance() -> None:
    causes = rank_bad_values({"x": 0.30, "y": 0.12, "z": 0.01}, {"x": 0.0, "y": 0.02, "z": 0.02},
                             {"x": 0.01, "y": 0.25, "z": 0.9}, {"x": "missing"})
    # x: 0.30 x 0.01 = 0.003; y: (0.12 - 0.02) x 0.25 = 0.025; z is below its reference
    assert [(c.feature, round(c.cost or 0, 6)) for c in causes] == [("y", 0.025), ("x", 0.003)]
    assert (causes[1].problem, causes[0].problem) == ("missing", "bad values")
    unknown = rank_bad_values({"x": 0.3}, {}, None)
    assert unknown[0].cost is None and unknown[0].drift == 0.3


def test_a_data_quality_alert_names_the_costly_input_not_the_worst_one() -> None:
    ref = ReferenceProfile.from_features("churn", "v1", list(NAMES),
                                         np.random.default_rng(0).normal(size=(5000, 3)))
    win = DecisionWindow("churn", "A", opened=0.0, n=2000, window_start=0.0, window_end=1.0,
                         checked=2000, missing={"a_ignored": 600, "b_matters": 200},
                         out_of_range={"c": 100})
    imp = _importance({"a_ignored": 0.0, "b_matters": 0.3, "c": 0.1})
    judge = DataQuality(lambda m: ref, CONFIG, None, lambda m: imp)
    [verdict] = judge.judge(win, ModelState("churn", CONFIG))
    assert verdict.bad and verdict.evidence["feature"] == "a_ignored"  # identity: worst share
    *_, out_of_range, missing = ref.bounds
    r = {n: float(out_of_range[j] + missing[j]) for j, n in enumerate(NAMES)}  # the reference's
    assert 0 < r["c"] < 0.01
    b, c, a = 0.3 * (0.1 - r["b_matters"]), 0.1 * (0.05 - r["c"]), 0.0
    assert str(verdict.evidence["causes"]) == (
        f"by estimated cost: b_matters +{100 * b:.1f} pts error (missing "
        f"+{0.1 - r['b_matters']:.1%} of inputs), c +{100 * c:.1f} pts error (out of range "
        f"+{0.05 - r['c']:.1%} of inputs), a_ignored +{a:.1f} pts error (missing "
        f"+{0.3 - r['a_ignored']:.1%} of inputs)")
    causes = str(verdict.evidence["causes"])
    assert judge.describe(verdict.evidence).endswith("; " + causes)
    assert "causes" not in DataQuality(lambda m: ref, CONFIG).judge(
        win, ModelState("churn", CONFIG))[0].evidence


def test_a_category_drift_alert_ranks_the_categorical_inputs_by_cost() -> None:
    profile = CategoryProfile(dict(VOCAB), {"plan": np.array([500, 500, 0, 0]),
                                            "channel": np.array([500, 500, 0, 0])})
    # plan moved a lot (into an unseen value), channel a little: channel matters
    counts = {"plan": np.array([100, 400, 500, 0]), "channel": np.array([600, 400, 0, 0])}
    win = DecisionWindow("churn", "A", opened=0.0, n=1000, window_start=0.0, window_end=1.0,
                         checked=1000, categories={GLOBAL: counts})
    imp = _importance({"plan": 0.01, "channel": 0.4})
    judge = CategoryDrift(lambda m: profile, CONFIG, lambda m: imp)
    [verdict] = judge.judge(win, ModelState("churn", CONFIG))
    assert verdict.bad and verdict.evidence["feature"] == "plan"
    # channel: tv 0.1 x 0.4 = 4.0 pts; plan: tv 0.5 x 0.01 = 0.5 pts
    causes = str(verdict.evidence["causes"])
    assert causes.startswith("by estimated cost: channel +4.0 pts error (PSI ")
    assert ", plan +0.5 pts error (PSI " in causes
    assert judge.describe(verdict.evidence).endswith("; " + causes)
