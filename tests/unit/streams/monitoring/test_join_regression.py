"""A regression's predictions join their true values: the summaries carry the sums of the
absolute, squared and signed errors, checked against numpy, in either order and across a
restart through the join-state records."""

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


def _valued(rid: str, value: float, variant: str = "A") -> SourceRecord:
    p = Prediction(request_id=rid, ts=10.0, model="m", variant=variant, model_version="v1",
                   output=ModelOutput(label=0, score=value, value=value),
                   latency=Latency(queue_s=0, inference_s=0, total_s=0))
    return SourceRecord(TOPICS.predictions, 0, 0, rid.encode(), encode(p))


def test_values_join_in_either_order_and_sum_their_errors() -> None:
    rng = np.random.default_rng(3)
    predicted, truth = rng.normal(size=40).tolist(), rng.normal(size=40).tolist()
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    # half the predictions come first, half the outcomes
    stage.add([_valued(f"r{i}", predicted[i]) for i in range(20)]
              + [_outcome(f"r{i}", truth[i], "value") for i in range(20, 40)])
    stage.add([_outcome(f"r{i}", truth[i], "value") for i in range(20)]
              + [_valued(f"r{i}", predicted[i]) for i in range(20, 40)])
    s = _summaries(stage)["A"]
    error = np.subtract(predicted, truth)
    assert s.valued == 40 and s.labelled == 0
    assert np.isclose(s.abs_error_sum, np.abs(error).sum())
    assert np.isclose(s.squared_error_sum, (error ** 2).sum())
    assert np.isclose(s.error_sum, error.sum())


def test_a_kind_the_prediction_does_not_answer_is_dropped() -> None:
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    stage.add([_valued("a", 1.0), _outcome("a", 1.0, "label"),
               _pred("b", 1), _outcome("b", 2.0, "value"),
               _valued("c", 1.0, variant="B"), _outcome("c", 4.0, "value")])
    summaries = _summaries(stage)
    assert set(summaries) == {"B"}
    assert summaries["B"].abs_error_sum == 3.0 and summaries["B"].error_sum == -3.0
    assert stage.waiting == 0


def test_waiting_values_survive_a_restart() -> None:
    first = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    topic: dict[bytes, bytes] = {}
    first.add([_valued("a", 5.0), _outcome("b", 1.0, "value"), _pred("c", 1)])
    written = _state(first, topic)
    assert written[b"a"] == {"p": ["m", "A", 0, 10.0, 5.0]}
    assert written[b"b"] == {"v": 1.0}
    assert written[b"c"] == {"p": ["m", "A", 1, 10.0]}  # a classifier's, as before
    second = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    assert second.adopt(topic, lambda _: True) == 3
    second.add([_outcome("a", 2.0, "value"), _valued("b", 0.5), _outcome("c", 1.0)])
    s = _summaries(second)["A"]
    assert (s.valued, s.abs_error_sum, s.error_sum) == (2, 3.5, 2.5)
    assert (s.labelled, s.label_errors) == (1, 0)
