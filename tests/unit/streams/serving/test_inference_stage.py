"""The inference stage with a fake predictor and a manual clock (no Kafka, no torch)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.predictor import PredictionBatch
from inference.routing import VariantRouter
from streams.serving.inference_stage import InferenceStage
from streams.wire.codec import BatchDecoder, SourceRecord
from streams.wire.dead_letter import H_KIND, H_OFFSET, reason_of
from streams.wire.events import Prediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")
INFER_S = 0.003


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakePredictor:
    """Scores p(class 1) = sigmoid(sum of features); advances the clock by INFER_S."""

    def __init__(self, clock: Clock, version: str, features: tuple[str, ...] = ("a", "b"),
                 infer_s: float = INFER_S) -> None:
        self.infer_s = infer_s
        self.model = "churn"
        self.version = version
        self.device = "cpu"
        self.features = features
        self.clock = clock
        self.calls: list[np.ndarray] = []

    def predict_batch(self, features: np.ndarray) -> PredictionBatch:
        self.calls.append(features.copy())
        p1 = 1.0 / (1.0 + np.exp(-features.sum(axis=1, dtype=np.float64)))
        self.clock.t += self.infer_s
        return PredictionBatch.from_probabilities(np.c_[1 - p1, p1], inference_s=self.infer_s)


def _stage(clock: Clock, *, max_batch: int = 4, max_wait_ms: float = 50.0
           ) -> tuple[InferenceStage, dict[str, FakePredictor], VariantRouter]:
    router = VariantRouter({"A": 0.5, "B": 0.5}, salt="exp")
    preds = {"A": FakePredictor(clock, "v1"), "B": FakePredictor(clock, "v2")}

    def lookup(model: str, variant: str) -> FakePredictor | None:
        return preds[variant] if model == "churn" else None

    stage = InferenceStage(topics=TOPICS, predictors=lookup, router=router, max_batch=max_batch,
                           max_wait_ms=max_wait_ms, max_record_bytes=4096, clock=clock)
    return stage, preds, router


def _request(i: int, ts: float, *, model: str = "churn", features: dict | None = None,
             segment: dict | None = None) -> dict:
    return {"id": f"r{i}", "ts": ts, "model": model, "unit_id": f"u{i}",
            "features": {"a": 0.1 * i, "b": -0.2} if features is None else features,
            "segment": segment or {"region": "eu" if i % 2 else "us"}}


def _records(docs: list[dict | bytes], first_offset: int = 0) -> list[SourceRecord]:
    out = []
    for j, d in enumerate(docs):
        value = d if isinstance(d, bytes) else json.dumps(d).encode()
        key = d["id"].encode() if isinstance(d, dict) else b"bad"
        out.append(SourceRecord(TOPICS.requests, 1, first_offset + j, key, value))
    return out


def _predictions(outputs: list) -> list[Prediction]:
    recs = [SourceRecord(o.topic, 0, i, o.key, o.value)
            for i, o in enumerate(outputs) if o.topic == TOPICS.predictions]
    dec = BatchDecoder(Prediction, max_record_bytes=1 << 20).decode(recs)
    assert dec.rejected == []
    return dec.events


def test_one_prediction_per_request_with_everything_copied() -> None:
    clock = Clock(1000.0)
    stage, preds, router = _stage(clock, max_batch=4)
    docs = [_request(i, ts=999.9 + 0.01 * i) for i in range(4)]
    stage.add(_records(docs))
    clock.t = 1000.005
    outputs = stage.flush(force=False)
    assert outputs is not None
    got = {p.request_id: p for p in _predictions(outputs)}
    assert sorted(got) == [d["id"] for d in docs]
    assert all(o.key == o_id.encode() for o, o_id in
               zip(outputs, [p.request_id for p in _predictions(outputs)], strict=True))
    for d in docs:
        p = got[d["id"]]
        variant = router.assign(d["unit_id"])
        group = [x for x in docs if router.assign(x["unit_id"]) == variant]
        start = 1000.005 + INFER_S * (sorted({router.assign(x["unit_id"]) for x in docs},
                                             key=[router.assign(x["unit_id"]) for x in docs].index)
                                      .index(variant))
        assert p.variant == variant
        assert p.model == "churn"
        assert p.model_version == preds[variant].version
        assert p.device == "cpu"
        assert p.batch_size == len(group)
        assert p.features == d["features"]
        assert p.segment == d["segment"]
        assert p.unit_id == d["unit_id"]
        assert p.latency.inference_s == INFER_S
        assert p.latency.queue_s == pytest.approx(start - d["ts"], abs=1e-9)
        assert p.latency.total_s == pytest.approx(start + INFER_S - d["ts"], abs=1e-9)
        assert p.ts == pytest.approx(start + INFER_S, abs=1e-9)
        p1 = 1 / (1 + np.exp(-np.float32(d["features"]["a"]) - np.float32(-0.2)))
        assert p.output.score == pytest.approx(p1, rel=1e-6)
        assert p.output.probabilities == pytest.approx([1 - p1, p1], rel=1e-6)
        assert p.output.label == int(p1 > 0.5)
    # the predictors saw the features in their declared order, as float32 rows
    assert sum(len(c) for c in preds["A"].calls + preds["B"].calls) == 4
    assert all(c.dtype == np.float32 and c.shape[1] == 2 for c in preds["A"].calls)


def test_a_slow_variant_is_scored_after_the_fast_one_and_keeps_its_cost_to_itself() -> None:
    clock = Clock(1000.0)
    stage, preds, router = _stage(clock, max_batch=8)
    preds["B"].infer_s = 0.2  # a slow challenger
    ids = {v: [i for i in range(100) if router.assign(f"u{i}") == v][:10] for v in "AB"}
    total: dict[str, list[float]] = {"A": [], "B": []}
    for k in range(5):  # each batch: B's request arrives first, then A's, at the same time
        batch = [_request(ids[v][2 * k + j], ts=clock.t) for v in "BA" for j in range(2)]
        stage.add(_records(batch, first_offset=4 * k))
        out = stage.flush(force=True)
        assert out is not None
        for p in sorted(_predictions(out), key=lambda p: p.request_id):
            total[p.variant].append(p.latency.total_s)
    # the first batch knows no cost yet: in arrival order, A waited behind B's 0.2 s
    assert total["A"][:2] == pytest.approx([0.2 + INFER_S] * 2)
    # from then on A goes first: its requests no longer wait for B's forward pass
    assert total["A"][2:] == pytest.approx([INFER_S] * 8)
    assert total["B"][:2] == pytest.approx([0.2] * 2)
    assert total["B"][2:] == pytest.approx([INFER_S + 0.2] * 8)


def test_flush_waits_for_max_batch() -> None:
    clock = Clock()
    stage, _, _ = _stage(clock, max_batch=3, max_wait_ms=50.0)
    stage.add(_records([_request(0, clock.t), _request(1, clock.t)]))
    assert stage.flush(force=False) is None
    assert stage.wait_s() == pytest.approx(0.05)
    stage.add(_records([_request(2, clock.t)], first_offset=2))
    assert stage.wait_s() == 0.0
    outputs = stage.flush(force=False)
    assert outputs is not None and len(_predictions(outputs)) == 3
    assert stage.wait_s() is None
    assert stage.flush(force=False) is None


def test_flush_waits_for_max_wait_ms() -> None:
    clock = Clock(50.0)
    stage, _, _ = _stage(clock, max_batch=100, max_wait_ms=20.0)
    stage.add(_records([_request(0, 49.99)]))
    clock.t = 50.019
    assert stage.flush(force=False) is None
    assert stage.wait_s() == pytest.approx(0.001, abs=1e-9)
    clock.t = 50.020
    outputs = stage.flush(force=False)
    assert outputs is not None
    [p] = _predictions(outputs)
    assert p.latency.queue_s == pytest.approx(50.020 - 49.99, abs=1e-9)


def test_force_flushes_a_partial_batch() -> None:
    clock = Clock()
    stage, _, _ = _stage(clock, max_batch=100, max_wait_ms=1000.0)
    stage.add(_records([_request(0, clock.t)]))
    assert stage.flush(force=False) is None
    outputs = stage.flush(force=True)
    assert outputs is not None and [p.request_id for p in _predictions(outputs)] == ["r0"]


def test_unknown_model_and_missing_features_become_dead_letters() -> None:
    clock = Clock()
    stage, _, _ = _stage(clock, max_batch=100)
    docs = [_request(0, clock.t), _request(1, clock.t, model="ranker"),
            _request(2, clock.t, features={"a": 1.0}), _request(3, clock.t)]
    stage.add(_records(docs, first_offset=10))
    outputs = stage.flush(force=True)
    assert outputs is not None
    assert sorted(p.request_id for p in _predictions(outputs)) == ["r0", "r3"]
    dead = [o for o in outputs if o.topic == TOPICS.dead_letter]
    by_offset = {reason_of(o.headers)[H_OFFSET]: (o, reason_of(o.headers)) for o in dead}
    assert sorted(by_offset) == ["11", "12"]
    o11, h11 = by_offset["11"]
    assert h11[H_KIND] == "unknown_model" and "ranker" in h11["inferwatch.error"]
    assert o11.value == json.dumps(docs[1]).encode() and o11.key == b"r1"
    o12, h12 = by_offset["12"]
    assert h12[H_KIND] == "invalid" and "'b'" in h12["inferwatch.error"]
    assert o12.value == json.dumps(docs[2]).encode()


def test_bad_records_are_dead_lettered_and_valid_neighbours_predicted() -> None:
    clock = Clock()
    stage, _, _ = _stage(clock, max_batch=100)
    docs: list[dict | bytes] = [_request(0, clock.t), b"{nope", _request(2, clock.t),
                                b'{"id": "r3", "ts": 1, "model": "churn", '
                                b'"features": {"a": 1e999}}',
                                _request(4, clock.t)]
    stage.add(_records(docs))
    outputs = stage.flush(force=True)
    assert outputs is not None
    assert sorted(p.request_id for p in _predictions(outputs)) == ["r0", "r2", "r4"]
    dead = [reason_of(o.headers) for o in outputs if o.topic == TOPICS.dead_letter]
    assert [(d[H_OFFSET], d[H_KIND]) for d in dead] == [("1", "malformed"), ("3", "invalid")]


def test_rejected_only_batch_flushes_at_once() -> None:
    clock = Clock()
    stage, _, _ = _stage(clock, max_batch=100, max_wait_ms=1000.0)
    stage.add(_records([b"garbage"]))
    assert stage.wait_s() == 0.0
    outputs = stage.flush(force=False)
    assert outputs is not None and [o.topic for o in outputs] == [TOPICS.dead_letter]
    assert stage.flush(force=False) is None


def test_a_failing_model_answers_every_request_with_an_error_and_loses_none() -> None:
    clock = Clock()
    stage, preds, _ = _stage(clock, max_batch=8)

    def broken(features: np.ndarray) -> PredictionBatch:
        raise RuntimeError("CUDA error: device-side assert triggered")
    for p in preds.values():
        p.predict_batch = broken  # type: ignore[method-assign]
    stage.add(_records([_request(i, clock.t) for i in range(8)]))
    out = stage.flush(force=True)
    assert out is not None
    answered = _predictions(out)
    assert sorted(p.request_id for p in answered) == [f"r{i}" for i in range(8)]
    assert all(p.error == "RuntimeError: CUDA error: device-side assert triggered"
               for p in answered)
    assert all(p.output.label == -1 for p in answered)
    assert not [o for o in out if o.topic == TOPICS.dead_letter]


class BurningPredictor(FakePredictor):
    """A FakePredictor whose forward pass also burns ``burn_s`` of CPU (a busy loop)."""

    burn_s = 0.02

    def predict_batch(self, features: np.ndarray) -> PredictionBatch:
        import time

        end = time.thread_time() + self.burn_s
        while time.thread_time() < end:
            pass
        return super().predict_batch(features)


def test_each_prediction_carries_its_share_of_the_batchs_cpu_time() -> None:
    from inference.cost_meter import CostMeter, EnergyCounter, per_thousand

    clock = Clock()
    burner = BurningPredictor(clock, "v1")
    stage = InferenceStage(topics=TOPICS, predictors=lambda m, v: burner,
                           router=VariantRouter({"A": 1.0}), max_batch=8, max_wait_ms=50.0,
                           max_record_bytes=4096, clock=clock,
                           meter=CostMeter(energy=EnergyCounter.none("test")))
    stage.add(_records([_request(i, 999.99) for i in range(8)]))
    preds = _predictions(stage.flush(force=False) or [])
    assert len(preds) == 8
    costs = [p.cost for p in preds if p.cost is not None]
    assert len(costs) == 8 and len({c.cpu_s for c in costs}) == 1  # an even share
    # 20 ms over 8 rows: 2.5 CPU seconds per 1,000 predictions, within 15%
    assert per_thousand(8, sum(c.cpu_s for c in costs)) == pytest.approx(2.5, rel=0.15)
    assert costs[0].gpu_s is None and costs[0].energy_j is None  # no GPU, no counter
