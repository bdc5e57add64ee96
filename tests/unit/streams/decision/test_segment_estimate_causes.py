"""Causes weighed by each segment's label-free accuracy estimate (issue 24, item 3: "use the
label-free estimate per segment"): the monitors sum calibrated confidences per segment,
the window merges them, and of two segments that moved alike the one whose estimated
accuracy fell ranks first."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from detectors.cause_ranking import rank_causes
from detectors.reference.importance import ReferenceImportance
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.feature_drift import FeatureDrift, estimated_drops
from streams.decision.state import ModelState
from streams.decision.window import GLOBAL, DecisionWindow
from streams.monitoring.monitor_stage import MonitorStage
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Latency, ModelOutput, MonitorSummary, Prediction
from streams.wire.topics import Topics
from tests.unit.streams.decision.test_performance_estimate import Clock

TOPICS = Topics("t.")
REF = {"f": np.array([50, 50]), "g": np.array([50, 50])}


@pytest.fixture(scope="module")
def reference() -> PerformanceReference:
    rng = np.random.default_rng(11)
    p = rng.random(20_000)
    return PerformanceReference.from_holdout("churn", "v1", p, rng.random(p.size) < p)


def test_of_two_segments_that_moved_alike_the_one_that_lost_accuracy_ranks_first() -> None:
    moved = {"f": np.array([80, 20]), "g": np.array([55, 45])}
    windows = {"region=eu": moved, "region=us": {k: v.copy() for k, v in moved.items()}}
    importance = {"f": 0.2, "g": 0.1}
    alike = rank_causes(windows, REF, importance)  # traffic share only: a tie
    assert alike[0].cost == pytest.approx(alike[1].cost)
    ranked = rank_causes(windows, REF, importance, {"region=eu": 0.0, "region=us": 0.08})
    assert [(c.segment, c.feature) for c in ranked][:2] == [("region=us", "f"),
                                                             ("region=us", "g")]
    # us: share 0.5 x drop 0.08 split by importance x tv: f 0.2 x 0.3, g 0.1 x 0.05
    split = 0.2 * 0.3 / (0.2 * 0.3 + 0.1 * 0.05)
    assert ranked[0].cost == pytest.approx(0.5 * 0.08 * split)
    assert ranked[0].cost + ranked[1].cost == pytest.approx(0.5 * 0.08)
    assert all(c.cost == 0.0 for c in ranked if c.segment == "region=eu")
    # an estimate of no loss anywhere clears nothing: the first-order costs stand
    blind = rank_causes(windows, REF, importance, {"region=eu": 0.0, "region=us": -0.01})
    assert [c.cost for c in blind] == pytest.approx([c.cost for c in alike])
    # a segment without an estimate keeps its first-order cost
    partial = rank_causes(windows, REF, importance, {"region=us": 0.08})
    eu = [c for c in partial if c.segment == "region=eu"]
    assert eu[0].cost == pytest.approx(0.5 * 0.2 * 0.3)


def _prediction(i: int, score: float, region: str) -> Prediction:
    return Prediction(request_id=f"r{i}", ts=10.0 + i, model="churn", variant="A",
                      model_version="v1", output=ModelOutput(label=int(score >= 0.5), score=score),
                      segment={"region": region},
                      latency=Latency(queue_s=0.001, inference_s=0.002, total_s=0.004))


def test_segment_sums_match_numpy_and_merge_to_drops(reference: PerformanceReference) -> None:
    rng = np.random.default_rng(3)
    # eu's scores are sure (near 0 or 1), us's near 0.5: us is estimated less accurate
    eu = np.where(rng.random(300) < 0.5, 0.02, 0.98) + rng.normal(0, 0.01, 300)
    us = 0.5 + rng.normal(0, 0.05, 300)
    scores = np.clip(np.concatenate([eu, us]), 0, 1)
    regions = ["eu"] * 300 + ["us"] * 300
    stage = MonitorStage(topics=TOPICS, references=lambda m: None, summary_size=10**6,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock(),
                         performance_references=lambda m: reference)
    order = rng.permutation(600)
    for part, chunk in enumerate(np.array_split(order, 2)):
        stage.add([SourceRecord(TOPICS.predictions, part, j, None,
                                encode(_prediction(int(i), float(scores[i]), regions[i])))
                   for j, i in enumerate(chunk)])
    win = DecisionWindow("churn", "A", opened=0.0)
    for out in stage.flush(force=True) or []:
        win.merge(msgspec.json.decode(out.value, type=MonitorSummary))
    c = reference.chances(scores)
    for label, rows in (("region=eu", slice(0, 300)), ("region=us", slice(300, 600))):
        n, total, var = win.segment_confidence[label]
        assert n == 300 and total == pytest.approx(c[rows].sum(), rel=1e-12)
        assert var == pytest.approx(float(np.dot(c[rows], 1 - c[rows])), rel=1e-12)
    drops = estimated_drops(win, reference, "error_rate")
    assert drops is not None
    assert drops["region=us"] == pytest.approx(reference.accuracy - c[300:].mean())
    assert drops[GLOBAL] == pytest.approx(reference.accuracy - c.mean())
    assert drops["region=us"] > 0.2 > drops["region=eu"]
    assert estimated_drops(win, reference, "squared_error") is None
    assert DecisionWindow.from_snapshot(win.snapshot()).segment_confidence.keys() == {
        "region=eu", "region=us"}


def test_the_drift_alert_names_the_segment_that_lost_estimated_accuracy(
        reference: PerformanceReference) -> None:
    rng = np.random.default_rng(7)
    profile = ReferenceProfile.from_features("churn", "v1", ["x"], rng.normal(size=(5000, 1)))
    hist = np.bincount(profile.bin_indices(rng.normal(size=(1000, 1)) + 1.0)[:, 0],
                       minlength=len(profile.counts[0]))
    sure = reference.chances(np.full(500, 0.99)).sum()
    unsure = reference.chances(np.full(500, 0.55)).sum()
    win = DecisionWindow(
        "churn", "A", opened=0.0, n=2000, window_start=0.0, window_end=1.0,
        histograms={GLOBAL: {"x": hist * 2}, "region=eu": {"x": hist}, "region=us": {"x": hist}},
        estimated=1000, confidence_sum=sure + unsure,
        segment_confidence={"region=eu": np.array([500.0, sure, 0.0]),
                            "region=us": np.array([500.0, unsure, 0.0])})
    imp = ReferenceImportance("churn", "v1", ("x",), (0.3,), "error_rate", 5000)
    config = DecisionConfig()
    judge = FeatureDrift(lambda m: profile, config, lambda m: imp, lambda m: reference)
    [verdict] = judge.judge(win, ModelState("churn", config))
    assert str(verdict.evidence["causes"]).startswith("by estimated cost: x in region=us +")
