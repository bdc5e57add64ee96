"""The shadow's side of the outcome join: pairs counted in any order, checked against
DiscordantPairs over the same arrays (no Kafka)."""

from __future__ import annotations

import numpy as np

from detectors.ab.paired import DiscordantPairs
from streams.monitoring.join_stage import JoinStage
from streams.monitoring.shadow_pairing import ShadowPairing
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import Latency, ModelOutput, Outcome, ShadowPairs, ShadowPrediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")
LAT = Latency(queue_s=0, inference_s=0, total_s=0)


def _shadow(rid: str, answer: int, label: int, *, error: str | None = None,
            version: str = "v2") -> ShadowPrediction:
    return ShadowPrediction(request_id=rid, ts=5.0, model="churn", variant="shadow",
                            model_version=version, output=ModelOutput(label=label, score=0.5),
                            latency=LAT, answer_label=answer, answer_version="v1", error=error)


def _label(rid: str, value: float) -> Outcome:
    return Outcome(request_id=rid, ts=9.0, kind="label", value=value)


def test_counts_match_discordant_pairs_whatever_the_arrival_order() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    answer, shadow, truth = (rng.integers(0, 2, n) for _ in range(3))
    labelled = rng.random(n) < 0.6
    expected = DiscordantPairs()
    expected.observe_predictions(answer, shadow)
    expected.observe_labels(answer[labelled], shadow[labelled], truth[labelled])

    pairing = ShadowPairing()
    events: list[tuple[str, object]] = [("s", _shadow(f"r{i}", int(answer[i]), int(shadow[i])))
                                        for i in range(n)]
    events += [("l", _label(f"r{i}", float(truth[i]))) for i in np.flatnonzero(labelled)]
    drained = []
    for at in np.array_split(rng.permutation(len(events)), 64):  # labels before shadows too
        batch = [events[i] for i in at]
        pairing.take([e for k, e in batch if k == "s"],  # type: ignore[misc]
                     [e for k, e in batch if k == "l"])  # type: ignore[misc]
        drained += pairing.drain()
    got = DiscordantPairs()
    for p in drained:
        assert (p.model, p.version, p.answer_version) == ("churn", "v2", "v1")
        got.merge(_as_pairs(p))
    assert got.snapshot() == expected.snapshot()
    assert pairing.waiting == int((~labelled).sum())  # the unlabelled shadows wait on


def _as_pairs(p: ShadowPairs) -> DiscordantPairs:
    d = DiscordantPairs()
    d.restore({"requests": p.requests, "disagreements": p.disagreements,
               "labelled": p.labelled, "shadow_wins": p.shadow_wins,
               "champion_wins": p.champion_wins})
    return d


def test_failed_answers_and_shadows_judge_neither() -> None:
    pairing = ShadowPairing()
    pairing.take([_shadow("a", -1, 1), _shadow("b", 1, -1, error="boom")],
                 [_label("a", 1.0), _label("b", 1.0)])
    assert pairing.drain() == [] and pairing.waiting == 0


def test_the_join_pairs_the_shadow_topic_and_flushes_the_counts_keyed_by_model() -> None:
    stage = JoinStage(topics=TOPICS, max_record_bytes=4096, clock=lambda: 0.0)

    def rec(topic: str, rid: str, event: object) -> SourceRecord:
        return SourceRecord(topic, 0, 0, rid.encode(), encode(event))  # type: ignore[arg-type]

    stage.add([rec(TOPICS.shadow_predictions, "a", _shadow("a", 0, 1)),
               rec(TOPICS.shadow_predictions, "b", _shadow("b", 1, 1)),
               rec(TOPICS.outcomes, "c", _label("c", 0.0))])
    stage.add([rec(TOPICS.outcomes, "a", _label("a", 1.0)),
               rec(TOPICS.outcomes, "b", _label("b", 0.0)),
               rec(TOPICS.shadow_predictions, "c", _shadow("c", 0, 1))])
    out = [o for o in stage.flush(force=True) or [] if o.topic == TOPICS.shadow_pairs]
    (pairs,) = BatchDecoder(ShadowPairs, max_record_bytes=4096).decode(
        [SourceRecord(o.topic, 0, 0, o.key, o.value) for o in out]).events
    assert out[0].key == b"churn"
    # a: the shadow alone right, b: both wrong, c: the answer alone right
    assert (pairs.requests, pairs.disagreements, pairs.labelled, pairs.shadow_wins,
            pairs.champion_wins) == (3, 2, 3, 1, 1)
