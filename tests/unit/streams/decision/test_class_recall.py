"""A 4-class model's windows in the decision step: the join's confusion matrices merge
across partitions, each window reports every class's recall and precision (checked
against numpy), and a sustained fall of one class's recall pages naming that class."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from scipy.stats import norm

from detectors.confusion import ConfusionCounts
from streams.decision.class_recall import recall_drops
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.decision.window import DecisionWindow
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Alert, DetectorReport, MonitorSummary
from streams.wire.topics import Topics

TOPICS = Topics("t.")
WINDOW = 400
K = 4


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _pairs(rng: np.random.Generator, recall: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """``WINDOW`` labelled predictions: each class right with its ``recall``, else a
    uniformly drawn other class."""
    truth = rng.integers(0, K, WINDOW)
    right = rng.random(WINDOW) < np.asarray(recall)[truth]
    other = (truth + rng.integers(1, K, WINDOW)) % K
    return truth, np.where(right, truth, other)


def _summaries(truth: np.ndarray, predicted: np.ndarray) -> list[MonitorSummary]:
    out = [MonitorSummary(model="m", variant="A", partition=0, first_offset=0,
                          last_offset=WINDOW - 1, window_start=1.0, window_end=2.0,
                          n=WINDOW, histograms={}, latency={})]
    for t, p in zip(np.array_split(truth, 2), np.array_split(predicted, 2), strict=True):
        out.append(MonitorSummary(
            model="m", variant="A", partition=-1, first_offset=-1, last_offset=-1,
            window_start=1.0, window_end=2.0, n=0, histograms={}, latency={},
            labelled=t.size, label_errors=int((t != p).sum()),
            confusion=ConfusionCounts.from_pairs(t, p, K).to_list()))
    return out


def _feed(stage: DecisionStage, clock: Clock, truth: np.ndarray, predicted: np.ndarray
          ) -> tuple[list[DetectorReport], list[Alert]]:
    clock.t += 10.0
    stage.add([SourceRecord(TOPICS.summaries, 0, i, b"m", encode(s))
               for i, s in enumerate(_summaries(truth, predicted)[::-1])])
    out = stage.flush(force=False) or []
    reports = [msgspec.json.decode(o.value, type=DetectorReport) for o in out
               if o.topic == TOPICS.reports]
    alerts = [msgspec.json.decode(o.value, type=Alert) for o in out if o.topic == TOPICS.alerts]
    return ([r for r in reports if r.detector == "class_recall"],
            [a for a in alerts if a.labels.get("detector") == "class_recall"])


def test_one_classes_falling_recall_pages_naming_it_and_resolves() -> None:
    clock, rng = Clock(), np.random.default_rng(11)
    config = DecisionConfig(window_size=WINDOW, min_window=10, window_max_s=1e9,
                            fire_after=2, resolve_after=2)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=clock)
    healthy = [0.9, 0.85, 0.9, 0.8]
    assert _feed(stage, clock, *_pairs(rng, healthy))[0] == []  # the baseline
    truth, predicted = _pairs(rng, healthy)
    (report,), alerts = _feed(stage, clock, truth, predicted)
    assert report.decision == "ok" and alerts == []
    recall = [np.mean(predicted[truth == c] == c) for c in range(K)]
    precision = [np.mean(truth[predicted == c] == c) for c in range(K)]
    assert report.evidence["recalls"] == ",".join(f"{r:.3f}" for r in recall)
    assert report.evidence["precisions"] == ",".join(f"{p:.3f}" for p in precision)
    pages = []
    for _ in range(2):  # class 2 now found half as often
        (report,), alerts = _feed(stage, clock, *_pairs(rng, [0.9, 0.85, 0.45, 0.8]))
        assert report.decision == "drift" and report.evidence["class"] == "2"
        pages += alerts
    (page,) = pages
    assert page.status == "firing" and page.labels["class"] == "2"
    assert "class recall: class 2 recall" in str(page.annotations)
    resolved = []
    for _ in range(2):
        resolved += _feed(stage, clock, *_pairs(rng, healthy))[1]
    assert [a.status for a in resolved] == ["resolved"]
    assert resolved[0].labels["class"] == "2"


def test_recall_drops_match_a_two_proportion_z_test() -> None:
    base = ConfusionCounts.from_pairs([0] * 100 + [1] * 100, [0] * 90 + [1] * 10 + [1] * 100, 2)
    now = ConfusionCounts.from_pairs([0] * 50 + [1] * 50, [0] * 35 + [1] * 15 + [1] * 50, 2)
    d = recall_drops(now, base)
    pooled = (90 + 35) / 150
    z = (0.9 - 0.7) / np.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 50))
    assert d.p_value[0] == pytest.approx(norm.sf(z), rel=1e-12)
    assert d.p_value[1] == 1.0  # recall 1 on both sides: nothing fell


def test_partition_matrices_of_different_sizes_merge_and_round_trip() -> None:
    win = DecisionWindow("m", "A", opened=0.0)
    assert "confusion" not in win.snapshot()
    for part in ([[3, 1, 0], [0, 2, 0], [1, 0, 4]], [[1, 0, 0, 0], [0, 1, 0, 0],
                                                   [0, 0, 1, 0], [0, 2, 0, 5]]):
        win.merge(MonitorSummary(model="m", variant="A", partition=-1, first_offset=-1,
                                 last_offset=-1, window_start=1.0, window_end=2.0, n=0,
                                 histograms={}, latency={}, confusion=part))
    assert win.confusion is not None
    expected = np.array([[4, 1, 0, 0], [0, 3, 0, 0], [1, 0, 5, 0], [0, 2, 0, 5]])
    np.testing.assert_array_equal(win.confusion.counts, expected)
    back = DecisionWindow.from_snapshot(msgspec.json.decode(msgspec.json.encode(win.snapshot())))
    assert back.confusion is not None
    np.testing.assert_array_equal(back.confusion.counts, expected)


def test_a_class_never_predicted_reports_no_precision_rather_than_nan() -> None:
    clock, rng = Clock(), np.random.default_rng(12)
    config = DecisionConfig(window_size=WINDOW, min_window=10, window_max_s=1e9)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=clock)
    _feed(stage, clock, *_pairs(rng, [0.9, 0.9, 0.9, 0.9]))
    truth, predicted = _pairs(rng, [0.9, 0.9, 0.9, 0.9])
    predicted = np.where(predicted == 2, 3, predicted)  # class 2 is never predicted
    (report,), _ = _feed(stage, clock, truth, predicted)  # decodes: no NaN became null
    assert report.evidence["class"] == "2" and report.evidence["precision"] == "-"
    assert str(report.evidence["precisions"]).split(",")[2] == "-"
