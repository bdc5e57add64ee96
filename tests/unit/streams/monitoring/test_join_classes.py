"""A multi-class model's joined labels: the join's summary carries their confusion matrix
(checked against numpy's counts), in either order and across a restart; a binary
classifier's summary encodes as before, without one."""

from __future__ import annotations

import numpy as np

from streams.monitoring.join_stage import JoinStage
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Latency, ModelOutput, Prediction
from tests.unit.streams.monitoring.test_join_stage import (
    TOPICS,
    Clock,
    _outcome,
    _pred,
    _state,
    _summaries,
)

K = 4


def _classified(rid: str, label: int) -> SourceRecord:
    probabilities = [0.1] * K
    probabilities[label] = 1.0 - 0.1 * (K - 1)
    p = Prediction(request_id=rid, ts=10.0, model="m", variant="A", model_version="v1",
                   output=ModelOutput(label=label, score=max(probabilities),
                                      probabilities=probabilities),
                   latency=Latency(queue_s=0, inference_s=0, total_s=0))
    return SourceRecord(TOPICS.predictions, 0, 0, rid.encode(), encode(p))


def test_labels_of_a_four_class_model_count_its_confusion_matrix() -> None:
    rng = np.random.default_rng(7)
    predicted, truth = rng.integers(0, K, 200), rng.integers(0, K, 200)
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    stage.add([_classified(f"r{i}", int(predicted[i])) for i in range(100)]
              + [_outcome(f"r{i}", float(truth[i])) for i in range(100, 200)])
    stage.add([_outcome(f"r{i}", float(truth[i])) for i in range(100)]
              + [_classified(f"r{i}", int(predicted[i])) for i in range(100, 200)])
    s = _summaries(stage)["A"]
    expected = np.zeros((K, K), dtype=int)
    np.add.at(expected, (truth, predicted), 1)
    assert s.confusion == expected.tolist()
    assert s.labelled == 200 and s.label_errors == int((predicted != truth).sum())
    assert _summaries(stage) == {}  # taken: the next window starts empty


def test_a_restored_prediction_counts_though_its_model_was_not_seen() -> None:
    first = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    topic: dict[bytes, bytes] = {}
    first.add([_classified("a", 3)])
    _state(first, topic)
    second = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    second.adopt(topic, lambda _: True)
    second.add([_outcome("a", 1.0)])
    confusion = np.asarray(_summaries(second)["A"].confusion)
    assert confusion.shape == (4, 4) and confusion[1, 3] == 1 and confusion.sum() == 1


def test_a_binary_classifiers_summary_has_no_matrix() -> None:
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    stage.add([_pred("a", 1), _outcome("a", 0.0)])
    out = [o for o in stage.flush(force=True) or [] if o.topic == TOPICS.summaries]
    assert b"confusion" not in out[0].value
