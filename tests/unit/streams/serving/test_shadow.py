"""Shadow scoring in the inference stage: answers first, the shadow's exact share after.

Fake predictors and a manual clock (no Kafka, no torch); the registry part runs on a real
model store in a temporary folder.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.registry import ModelStore
from inference.routing import VariantRouter, in_share, unit_hash
from inference.served_versions import ServedVersions
from inference.shadow_binding import (
    SHADOW,
    ShadowBinding,
    bind_shadow,
    end_shadow,
    shadow_of,
    shadow_salt,
)
from streams.serving.inference_stage import InferenceStage
from streams.serving.shadow import ServedShadows, ShadowPlan
from streams.wire.codec import BatchDecoder, SourceRecord
from streams.wire.events import Prediction, ShadowPrediction
from tests.unit.streams.serving.test_inference_stage import (
    TOPICS,
    Clock,
    FakePredictor,
    _records,
    _request,
)


def _stage(clock: Clock, share: float, shadow_infer_s: float = 0.050
           ) -> tuple[InferenceStage, FakePredictor, FakePredictor]:
    answering = FakePredictor(clock, "v1")
    shadow = FakePredictor(clock, "v2", infer_s=shadow_infer_s)
    plan = ShadowPlan(shadow, ShadowBinding("churn", "v2", share))  # type: ignore[arg-type]
    stage = InferenceStage(
        topics=TOPICS, predictors=lambda m, v: answering if m == "churn" else None,
        router=VariantRouter({"A": 1.0}), max_batch=1000, max_wait_ms=10.0,
        max_record_bytes=4096, clock=clock, shadows={"churn": plan}.get)
    return stage, answering, shadow


def _decoded(outputs: list, topic: str) -> list:
    recs = [SourceRecord(o.topic, 0, i, o.key, o.value) for i, o in enumerate(outputs)
            if o.topic == topic]
    kind = ShadowPrediction if topic == TOPICS.shadow_predictions else Prediction
    return BatchDecoder(kind, max_record_bytes=1 << 20).decode(recs).events


@pytest.mark.parametrize("share", [1.0, 0.3, 0.0])
def test_the_shadow_scores_exactly_the_requests_its_share_picks(share: float) -> None:
    clock = Clock()
    stage, _, _ = _stage(clock, share)
    docs = [_request(i, clock.t) for i in range(500)]
    stage.add(_records(docs))
    outputs = stage.flush(force=True) or []
    answers = _decoded(outputs, TOPICS.predictions)
    shadows = _decoded(outputs, TOPICS.shadow_predictions)
    assert sorted(p.request_id for p in answers) == sorted(d["id"] for d in docs)
    picked = {d["id"] for d in docs if unit_hash(d["id"], shadow_salt("churn")) < share}
    assert [p.request_id for p in shadows] == [d["id"] for d in docs if d["id"] in picked]
    assert all(p.variant == SHADOW and p.model_version == "v2" for p in shadows)
    # each carries its answer: the label the answering version gave that request
    answer_of = {p.request_id: p.output.label for p in answers}
    assert all((p.answer_label, p.answer_version) == (answer_of[p.request_id], "v1")
               for p in shadows)
    assert {p.variant for p in answers} == {"A"}
    # a shadow output travels under its request's key: the join finds both on one partition
    keys = {o.key for o in outputs if o.topic == TOPICS.shadow_predictions}
    assert keys == {k.encode() for k in picked}
    if share == 0.3:
        assert 100 < len(picked) < 200  # the hash picks about 30% of 500


def test_answers_are_made_before_the_shadow_runs_and_do_not_wait_for_it() -> None:
    clock = Clock()
    stage, answering, shadow = _stage(clock, 1.0, shadow_infer_s=0.5)
    stage.add(_records([_request(i, clock.t) for i in range(8)]))
    outputs = stage.flush(force=True) or []
    answers = _decoded(outputs, TOPICS.predictions)
    shadows = _decoded(outputs, TOPICS.shadow_predictions)
    assert len(answering.calls) == len(shadow.calls) == 1
    # the answers' latency holds their own forward pass only, not the shadow's 0.5 s
    assert max(p.latency.total_s for p in answers) == pytest.approx(0.003)
    assert min(p.ts for p in shadows) >= max(p.ts for p in answers) + 0.5
    out_topics = [o.topic for o in outputs]
    assert out_topics.index(TOPICS.shadow_predictions) > max(
        i for i, t in enumerate(out_topics) if t == TOPICS.predictions)


def test_a_request_the_shadow_cannot_read_is_a_shadow_error_not_a_second_dead_letter() -> None:
    clock = Clock()
    answering = FakePredictor(clock, "v1", features=("a",))
    shadow = FakePredictor(clock, "v2", features=("a", "c"))
    plan = ShadowPlan(shadow, ShadowBinding("churn", "v2", 1.0))  # type: ignore[arg-type]
    stage = InferenceStage(
        topics=TOPICS, predictors=lambda m, v: answering, router=VariantRouter({"A": 1.0}),
        max_batch=1000, max_wait_ms=10.0, max_record_bytes=4096, clock=clock,
        shadows={"churn": plan}.get)
    stage.add(_records([_request(i, clock.t) for i in range(3)]))
    outputs = stage.flush(force=True) or []
    assert not [o for o in outputs if o.topic == TOPICS.dead_letter]
    shadows = _decoded(outputs, TOPICS.shadow_predictions)
    assert len(shadows) == 3 and all(p.output.label == -1 and "needs features" in (p.error or "")
                                     for p in shadows)
    answers = _decoded(outputs, TOPICS.predictions)
    assert [p.answer_label for p in shadows] == [p.output.label for p in answers]


def test_in_share_is_nested_and_close_to_its_share() -> None:
    ids = [f"req-{i}" for i in range(20_000)]
    small = {i for i in ids if in_share(i, 0.1, "s")}
    large = {i for i in ids if in_share(i, 0.3, "s")}
    assert small <= large
    # binomial(20000, 0.3): sd 65; 5 sd either side
    assert abs(len(large) - 6000) < 5 * np.sqrt(20_000 * 0.3 * 0.7)


def _store(tmp_path) -> ModelStore:  # type: ignore[no-untyped-def]
    from tests.unit.streams.serving.test_served_versions import _publish  # the mlp versions

    store = ModelStore(tmp_path / "models")
    for seed, version in enumerate(("v1", "v2", "v3")):
        _publish(store, version, seed)
    return store


def test_the_registry_binds_reads_and_ends_a_shadow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = _store(tmp_path)
    assert shadow_of(store, "churn", 1.0) is None
    with pytest.raises(ValueError, match="no version 'v9'"):
        bind_shadow(store, "churn", "v9")
    with pytest.raises(ValueError, match=r"shadow share must be a number in \[0, 1\]"):
        bind_shadow(store, "churn", "v2", share=1.5)
    bind_shadow(store, "churn", "v2")
    assert shadow_of(store, "churn", 0.5) == ShadowBinding("churn", "v2", 0.5)
    bind_shadow(store, "churn", "v3", share=0.3)
    assert shadow_of(store, "churn", 1.0) == ShadowBinding("churn", "v3", 0.3)
    end_shadow(store, "churn", reason="rejected")
    assert shadow_of(store, "churn", 1.0) is None
    bind_shadow(store, "churn", "v2")  # a new shadow version starts on the default share
    assert shadow_of(store, "churn", 1.0) == ShadowBinding("churn", "v2", 1.0)


def test_served_shadows_follow_the_alias_after_a_model_update(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = _store(tmp_path)
    served = ServedVersions(store, "cpu")
    shadows = ServedShadows(served, default_share=1.0)
    assert shadows("churn") is None
    bind_shadow(store, "churn", "v2")
    assert shadows("churn") is None  # read once per model until an update is taken in
    served.invalidate("churn")
    plan = shadows("churn")
    assert plan is not None and plan.predictor.version == "v2"
    assert served.predictor("churn", "A").version == "v3"  # answers stay on latest
    bind_shadow(store, "churn", "v1", share=0.3)
    served.invalidate("churn")
    plan = shadows("churn")
    assert plan is not None and (plan.predictor.version, plan.binding.share) == ("v1", 0.3)
