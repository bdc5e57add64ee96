"""Accuracy estimated before labels, through the pipeline: partition sums in the monitor
stage, the merged estimate in the decision step (a ticket and a retrain when it drops),
and its row in ClickHouse's performance_estimates beside the realised accuracy."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from detectors.performance_estimate import AccuracyEstimate
from detectors.reference.performance import PerformanceReference
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.monitoring.monitor_stage import MonitorStage
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import (
    Alert,
    DetectorReport,
    Latency,
    ModelOutput,
    MonitorSummary,
    Prediction,
    RetrainRequested,
)
from streams.wire.topics import Topics

TOPICS = Topics("t.")
WINDOW = 400  # two partition summaries of 200 make one decision window


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def reference() -> PerformanceReference:
    """A holdout whose scores are calibrated: the fit is close to the identity."""
    rng = np.random.default_rng(11)
    p = rng.random(20_000)
    return PerformanceReference.from_holdout("churn", "v1", p, rng.random(p.size) < p)


def _predictions(scores: np.ndarray, start: int) -> list[Prediction]:
    return [Prediction(request_id=f"r{start + i}", ts=10.0 + i, model="churn", variant="A",
                       model_version="v1",
                       output=ModelOutput(label=int(s >= 0.5), score=float(s),
                                          probabilities=[1.0 - float(s), float(s)]),
                       latency=Latency(queue_s=0.001, inference_s=0.002, total_s=0.004))
            for i, s in enumerate(scores)]


def _summaries(ref: PerformanceReference, scores: np.ndarray, start: int) -> list[bytes]:
    """The monitor stage's summaries of ``scores``, spread over two partitions."""
    stage = MonitorStage(topics=TOPICS, references=lambda m: None, summary_size=10**6,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock(),
                         performance_references=lambda m: ref if m == "churn" else None)
    for part, chunk in enumerate(np.array_split(scores, 2)):
        offset = start + part * len(chunk)
        stage.add([SourceRecord(TOPICS.predictions, part, i, None, encode(p))
                   for i, p in enumerate(_predictions(chunk, offset))])
    return [o.value for o in stage.flush(force=True) or []]


def test_partition_sums_merge_to_the_estimate_of_all_predictions(
        reference: PerformanceReference) -> None:
    scores = np.random.default_rng(0).random(WINDOW)
    raws = _summaries(reference, scores, 0)
    decoded = BatchDecoder(MonitorSummary, max_record_bytes=1 << 20).decode(
        [SourceRecord(TOPICS.summaries, 0, i, b"churn", r) for i, r in enumerate(raws)])
    assert len(decoded.events) == 2
    c = reference.chances(scores)
    assert sum(s.estimated for s in decoded.events) == WINDOW
    assert sum(s.confidence_sum for s in decoded.events) == pytest.approx(c.sum(), rel=1e-12)
    assert sum(s.confidence_var for s in decoded.events) == pytest.approx(
        float(np.dot(c, 1 - c)), rel=1e-12)


def _stage(ref: PerformanceReference, clock: Clock) -> DecisionStage:
    config = DecisionConfig(window_size=WINDOW, min_window=10, window_max_s=1e9, fire_after=2,
                            resolve_after=2, retrain_after=2, estimate_max_drop=0.05)
    return DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                         max_record_bytes=1 << 20, clock=clock,
                         performance_references=lambda m: ref if m == "churn" else None)


def _feed(stage: DecisionStage, raws: list[bytes], clock: Clock) -> dict[str, list[bytes]]:
    clock.t += 10.0
    stage.add([SourceRecord(TOPICS.summaries, 0, i, b"churn", r) for i, r in enumerate(raws)])
    out: dict[str, list[bytes]] = {}
    for o in stage.flush(force=False) or []:
        out.setdefault(o.topic, []).append(o.value)
    return out


def _estimate_reports(out: dict[str, list[bytes]]) -> list[DetectorReport]:
    reports = [msgspec.json.decode(r, type=DetectorReport) for r in out.get(TOPICS.reports, [])]
    return [r for r in reports if r.detector == "performance_estimate"]


def test_a_drop_in_the_estimate_opens_a_ticket_and_asks_for_one_retrain(
        reference: PerformanceReference) -> None:
    clock, rng = Clock(), np.random.default_rng(5)
    stage = _stage(reference, clock)
    healthy = rng.random(WINDOW)
    out = _feed(stage, _summaries(reference, healthy, 0), clock)
    (report,) = _estimate_reports(out)
    expected = AccuracyEstimate(reference.accuracy)
    expected.update_many(reference.chances(healthy))
    assert report.statistic == pytest.approx(expected.estimate, rel=1e-12)
    assert (report.evidence["band_low"], report.evidence["band_high"]) == pytest.approx(
        expected.band, abs=1e-6)
    assert report.decision == "ok" and "realised_accuracy" not in report.evidence
    alerts, retrains, statistics = [], [], []
    for k in range(1, 4):  # the inputs crowd to the boundary: scores near 0.5
        out = _feed(stage, _summaries(reference, rng.uniform(0.4, 0.6, WINDOW), k * WINDOW),
                    clock)
        (report,) = _estimate_reports(out)
        assert report.decision == "drift" and report.statistic < reference.accuracy - 0.15
        statistics.append(report.statistic)
        alerts += [msgspec.json.decode(a, type=Alert) for a in out.get(TOPICS.alerts, [])]
        retrains += [msgspec.json.decode(r, type=RetrainRequested)
                     for r in out.get(TOPICS.retrain, [])]
    (alert,) = alerts
    assert alert.status == "firing" and alert.severity == "ticket"
    assert alert.labels["detector"] == "performance_estimate"
    (retrain,) = retrains  # after retrain_after = 2 degraded windows, and only one
    assert retrain.evidence["estimated_accuracy"] == pytest.approx(statistics[1], abs=1e-6)
    assert retrain.reason == "estimated accuracy drop sustained for 2 windows"


def _join(labelled: int, errors: int) -> MonitorSummary:
    """A summary of the outcome join: labels that arrived, none of them predictions."""
    return MonitorSummary(model="churn", variant="A", partition=0, first_offset=0,
                          last_offset=0, window_start=0.0, window_end=0.0, n=0, histograms={},
                          latency={}, labelled=labelled, label_errors=errors)


def test_labels_that_arrive_set_the_realised_accuracy_beside_the_estimate(
        reference: PerformanceReference) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    join = _join(labelled=120, errors=30)
    scores = np.random.default_rng(6).random(WINDOW)
    out = _feed(stage, [encode(join), *_summaries(reference, scores, 0)], clock)
    (report,) = _estimate_reports(out)
    assert report.evidence["realised_accuracy"] == pytest.approx(0.75)
    assert report.evidence["labelled"] == 120


def test_no_reference_no_estimate(reference: PerformanceReference) -> None:
    clock = Clock()
    stage = DecisionStage(topics=TOPICS, references=lambda m: None,
                          config=DecisionConfig(window_size=WINDOW, min_window=10),
                          max_record_bytes=1 << 20, clock=clock)
    out = _feed(stage, _summaries(reference, np.full(WINDOW, 0.5), 0), clock)
    assert out.get(TOPICS.reports) and not _estimate_reports(out)


def test_estimate_rows_land_in_clickhouse_once(reference: PerformanceReference,
                                               tmp_path: Path) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    join = _join(labelled=10, errors=4)
    first = _feed(stage, _summaries(reference, np.full(WINDOW, 0.9), 0), clock)
    second = _feed(stage, [encode(join), *_summaries(reference, np.full(WINDOW, 0.55), WINDOW)],
                   clock)
    raws = first[TOPICS.reports] + second[TOPICS.reports]
    records = [SourceRecord(TOPICS.reports, 0, i, b"churn", r) for i, r in enumerate(raws)]
    rows, rejected = RowMapper(TOPICS, max_record_bytes=1 << 20).rows(TOPICS.reports, records)
    assert not rejected
    store = ClickHouseStore(f"chdb://{tmp_path}")
    try:
        store.apply_schema()
        for _ in range(2):  # a replayed batch, same token: nothing twice
            store.insert(rows.table, rows.columns, rows.rows, token="reports-0-0-9")
        got = store.query(
            "SELECT estimated_accuracy, band_low, band_high, realised_accuracy, labelled, n, "
            "degraded FROM performance_estimates ORDER BY ts, window_start")
    finally:
        store.close()
    high = reference.chances(np.array([0.9]))[0]
    low = reference.chances(np.array([0.55]))[0]
    assert [(round(r[0], 6), r[3], r[4], r[5], r[6]) for r in got] == [
        (round(high, 6), None, 0, WINDOW, 0), (round(low, 6), pytest.approx(0.6), 10, WINDOW, 1)]
    assert all(r[1] <= r[0] <= r[2] for r in got)
