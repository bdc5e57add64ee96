"""The inference stage with predictors that have a spec: inputs encoded by it, a request it
cannot take answered with an error, batches per (model, version), the model's embeddings
carried (a fake predictor and a manual clock; no Kafka, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.model_inputs import ModelInputs, encode_requests
from inference.model_spec import ModelSpec
from inference.predictor import PredictionBatch
from inference.routing import VariantRouter
from streams.serving.inference_stage import InferenceStage
from streams.serving.request_inputs import encode_batch
from streams.wire.events import InferenceRequest
from tests.unit.streams.serving.test_inference_stage import (
    TOPICS,
    Clock,
    _predictions,
    _records,
    _request,
)

SPEC = ModelSpec.from_dict({
    "kind": "torchscript", "task": "binary", "classes": ["stay", "churn"],
    "inputs": {"numeric": [{"name": "a"}, {"name": "b", "default": 0.25}],
               "categorical": [{"name": "plan", "vocabulary": ["free", "pro"]},
                               {"name": "channel", "vocabulary": ["web", "app"],
                                "default": "web"}]}})


class SpecFake:
    """p(class 1) = sigmoid(a + b + 10 * plan + channel); an embedding of (a, plan code)."""

    def __init__(self, clock: Clock, version: str = "v1", spec: ModelSpec = SPEC) -> None:
        self.spec, self.model, self.version, self.device = spec, "churn", version, "cpu"
        self.features = spec.feature_names
        self.clock = clock
        self.calls: list[ModelInputs] = []

    def predict_batch(self, inputs: ModelInputs) -> PredictionBatch:
        self.calls.append(inputs)
        x = inputs.numeric.sum(axis=1, dtype=np.float64)
        if inputs.categorical.shape[1]:
            x = x + 10 * inputs.categorical[:, 0] + inputs.categorical[:, 1]
        p1 = 1 / (1 + np.exp(-x))
        self.clock.t += 0.002
        batch = PredictionBatch.from_probabilities(np.c_[1 - p1, p1], inference_s=0.002)
        emb = np.c_[inputs.numeric[:, 0], inputs.categorical[:, :1]].astype(np.float32) \
            if inputs.categorical.shape[1] else None
        return PredictionBatch(batch.labels, batch.scores, batch.probabilities, 0.002, emb)


def _stage(clock: Clock, lookup: dict[str, SpecFake]) -> InferenceStage:
    return InferenceStage(
        topics=TOPICS, predictors=lambda m, v: lookup.get(v) if m == "churn" else None,
        router=VariantRouter({"A": 0.5, "B": 0.5}, salt="exp"), max_batch=100,
        max_wait_ms=50.0, max_record_bytes=4096, clock=clock)


def test_requests_the_spec_cannot_take_are_answered_with_their_reason() -> None:
    clock = Clock()
    fake = SpecFake(clock)
    stage = _stage(clock, {"A": fake, "B": fake})
    cats = [{"plan": "pro", "channel": "app"}, {"plan": "pro"}, {"plan": "gold"},
            {"channel": "web"}, {"plan": "free", "channel": "fax"}]
    docs = [{**_request(i, clock.t, features={"a": 0.5 * i}), "categorical": c}
            for i, c in enumerate(cats)]
    docs.append(_request(9, clock.t, features={"b": 1.0}))  # a: missing, no default
    docs[-1]["categorical"] = {"plan": "free"}
    stage.add(_records(docs))
    got = {p.request_id: p for p in _predictions(stage.flush(force=True) or [])}
    assert sorted(got) == sorted(d["id"] for d in docs)  # one answer per request
    refused = {k: p.error for k, p in got.items() if p.error is not None}
    assert refused == {
        "r2": "invalid input: plan: 'gold' is not in the vocabulary ['free', 'pro']",
        "r3": "invalid input: plan: missing", "r9": "invalid input: a: missing"}
    assert all(got[k].output.label == -1 for k in refused)
    # defaults stand in: b = 0.25, channel 'web' (missing, or 'fax' outside the vocabulary)
    for rid, i, plan, channel in (("r0", 0, 1, 1), ("r1", 1, 1, 0), ("r4", 4, 0, 0)):
        x = 0.5 * i + 0.25 + 10 * plan + channel
        assert got[rid].output.score == pytest.approx(1 / (1 + np.exp(-x)), rel=1e-6)
        assert got[rid].embedding == pytest.approx([0.5 * i, plan])
    # the prediction carries the categories as sent, outside the vocabulary included
    assert got["r4"].categorical == {"plan": "free", "channel": "fax"}
    assert got["r2"].categorical == {"plan": "gold"}
    assert sum(len(c) for c in fake.calls) == 3


def test_variants_bound_to_one_version_share_a_forward_pass() -> None:
    clock = Clock()
    shared = SpecFake(clock, "v7")
    other = SpecFake(clock, "v8")
    stage = _stage(clock, {"A": shared, "B": shared})
    docs = [{**_request(i, clock.t), "categorical": {"plan": "pro"}} for i in range(12)]
    stage.add(_records(docs))
    preds = _predictions(stage.flush(force=True) or [])
    assert len(shared.calls) == 1 and len(shared.calls[0]) == 12
    assert {p.variant for p in preds} == {"A", "B"}
    assert all(p.batch_size == 12 and p.model_version == "v7" for p in preds)
    # bound to two versions, the variants are two forward passes
    stage = _stage(clock, {"A": shared, "B": other})
    stage.add(_records(docs))
    by_variant = {p.request_id: p.variant for p in _predictions(stage.flush(force=True) or [])}
    assert len(shared.calls) == 2 and len(other.calls) == 1
    assert len(shared.calls[1]) == sum(v == "A" for v in by_variant.values())


@pytest.mark.parametrize("seed", range(4))
def test_the_numeric_fast_road_encodes_as_encode_requests(seed: int) -> None:
    spec = ModelSpec.from_dict({
        "kind": "torchscript", "task": "binary", "classes": ["n", "y"],
        "inputs": {"numeric": [{"name": "x"}, {"name": "y", "default": -1.0}, {"name": "z"}]}})
    rng = np.random.default_rng(seed)
    reqs = [InferenceRequest(id=str(i), ts=0.0, model="m", features={
        n: float(rng.normal()) for n in "xyzw" if rng.random() < 0.85}) for i in range(200)]
    fast = encode_batch(spec, reqs)
    slow = encode_requests(spec, [r.features for r in reqs])
    assert fast.errors == slow.errors and fast.errors
    assert fast.kept.tolist() == slow.kept.tolist()
    assert np.array_equal(fast.inputs.numeric, slow.inputs.numeric)
    assert fast.inputs.categorical.shape == (len(fast.kept), 0)
