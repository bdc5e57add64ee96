"""The outcome join: predictions meet their labels in either order; errors are counted."""

from __future__ import annotations

import msgspec

from streams.monitoring.join_stage import JoinStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import Latency, ModelOutput, MonitorSummary, Outcome, Prediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _pred(rid: str, label: int, *, variant: str = "A", error: str | None = None) -> SourceRecord:
    p = Prediction(request_id=rid, ts=10.0, model="m", variant=variant, model_version="v1",
                   output=ModelOutput(label=label, score=0.5),
                   latency=Latency(queue_s=0, inference_s=0, total_s=0), error=error)
    return SourceRecord(TOPICS.predictions, 0, 0, rid.encode(), encode(p))


def _outcome(rid: str, value: float, kind: str = "label") -> SourceRecord:
    o = Outcome(request_id=rid, ts=20.0, kind=kind, value=value)  # type: ignore[arg-type]
    return SourceRecord(TOPICS.outcomes, 0, 0, rid.encode(), encode(o))


def _summaries(stage: JoinStage) -> dict[str, MonitorSummary]:
    out = stage.flush(force=True) or []
    dec = BatchDecoder(MonitorSummary, max_record_bytes=1 << 20).decode(
        [SourceRecord(o.topic, 0, 0, o.key, o.value) for o in out if o.topic == TOPICS.summaries])
    assert {o.topic for o in out} <= {TOPICS.summaries, TOPICS.join_state}
    return {s.variant: s for s in dec.events}


def _state(stage: JoinStage, topic: dict[bytes, bytes]) -> dict[bytes, object]:
    """Flush; apply the join-state records to ``topic`` (latest per key, tombstones
    delete) and return them decoded (None for a tombstone)."""
    written = {o.key: o.value for o in stage.flush(force=True) or []
               if o.topic == TOPICS.join_state}
    for key, value in written.items():
        assert key is not None
        if value is None:
            topic.pop(key, None)
        else:
            topic[key] = value
    return {k: None if v is None else msgspec.json.decode(v) for k, v in written.items()}


def test_joins_in_either_order_and_counts_errors() -> None:
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    stage.add([_pred("a", 1), _outcome("b", 0.0), _pred("c", 0, variant="B")])
    stage.add([_outcome("a", 1.0), _pred("b", 1), _outcome("c", 1.0),
               _outcome("d", 1.0, kind="conversion")])
    by_variant = _summaries(stage)
    assert (by_variant["A"].labelled, by_variant["A"].label_errors) == (2, 1)  # a right, b wrong
    assert (by_variant["B"].labelled, by_variant["B"].label_errors) == (1, 1)
    assert by_variant["A"].n == 0 and by_variant["A"].partition == -1
    assert stage.waiting == 0  # the conversion is not a label: nothing waits for it


def test_failed_predictions_are_not_joined_and_waiting_is_bounded() -> None:
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, max_pending=3, clock=Clock())
    stage.add([_pred("x", 1, error="RuntimeError: boom")])
    stage.add([_pred(f"p{i}", 1) for i in range(5)])
    assert stage.evicted == 2 and stage.waiting == 3
    stage.add([_outcome("p0", 1.0), _outcome("p4", 0.0)])  # p0 was evicted: it waits now
    summary = _summaries(stage)["A"]
    assert (summary.labelled, summary.label_errors) == (1, 1)


def test_flushes_every_interval() -> None:
    clock = Clock()
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, interval_s=1.0, clock=clock)
    assert stage.wait_s() is None  # nothing seen yet: no clock to wait on
    stage.add([_pred("a", 1), _outcome("a", 1.0)])
    assert stage.flush(force=False) is None
    clock.t = 1.0
    assert stage.wait_s() == 0.0
    assert len(stage.flush(force=False) or []) == 1


def test_what_waits_is_written_and_what_stops_waiting_is_tombstoned() -> None:
    stage, topic = JoinStage(topics=TOPICS, max_record_bytes=4096, max_pending=2,
                             clock=Clock()), {}
    stage.add([_pred("a", 1), _outcome("b", 0.0), _pred("c", 1), _outcome("c", 1.0)])
    # c joined inside its batch: never written, so nothing to delete either
    assert _state(stage, topic) == {b"a": {"p": ["m", "A", 1, 10.0]}, b"b": {"l": 0.0}}
    stage.add([_outcome("a", 1.0), _pred("b", 1)])
    stage.add([_pred("d", 0), _pred("e", 0), _pred("f", 0)])  # one flush for both batches
    # a and b joined: tombstones; d was evicted (2 may wait) before it was ever written;
    # e and f wait
    assert _state(stage, topic) == {b"a": None, b"b": None, b"e": {"p": ["m", "A", 0, 10.0]},
                                    b"f": {"p": ["m", "A", 0, 10.0]}}
    stage.add([_pred("g", 1)])  # e, written before, is evicted now: a tombstone
    assert _state(stage, topic) == {b"e": None, b"g": {"p": ["m", "A", 1, 10.0]}}
    assert set(topic) == {b"f", b"g"} and stage.evicted == 2


def test_a_new_owner_restores_what_waits_in_its_partitions_and_joins_it() -> None:
    old, topic = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock()), {}
    old.add([_pred("a", 1), _pred("b", 1), _pred("c", 1), _outcome("z", 1.0)])
    _state(old, topic)
    # a crash, or a rebalance: a new worker owns a, b and z's partitions; old keeps c's
    new = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=Clock())
    assert new.adopt(topic, owns=lambda request_id: request_id != "c") == 3
    assert old.adopt(topic, owns=lambda request_id: request_id == "c") == 0
    assert (old.waiting, new.waiting) == (1, 3)
    new.add([_outcome("a", 1.0), _outcome("b", 0.0), _pred("z", 0)])
    summary = _summaries(new)["A"]
    assert (summary.labelled, summary.label_errors) == (3, 2)  # a right; b and z wrong
    assert new.waiting == 0
