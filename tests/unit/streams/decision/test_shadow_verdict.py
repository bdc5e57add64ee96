"""The paired verdict on shadows in the decision step: the join's per-partition counts in,
ShadowDecided looks out, checked against PairedCorrectnessTest on the summed counts."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.ab.paired import PairedCorrectnessTest
from streams.decision.config import DecisionConfig
from streams.decision.shadow_verdict import SHADOW_KEY, ShadowJudge, ShadowPolicy
from streams.decision.stage import DecisionStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import ShadowDecided, ShadowPairs
from streams.wire.topics import Topics

TOPICS = Topics("t.")


def _pairs(rng: np.random.Generator, n: int, q: float, *, labelled_share: float = 0.5,
           disagree: float = 0.1, version: str = "v2") -> ShadowPairs:
    """``n`` shadowed requests; of the labelled, the discordant ones the shadow wins w.p. q."""
    disagreements = int(rng.binomial(n, disagree))
    labelled = int(rng.binomial(n, labelled_share))
    discordant = int(rng.binomial(labelled, disagree))
    wins = int(rng.binomial(discordant, q))
    return ShadowPairs(model="churn", version=version, answer_version="v1", requests=n,
                       disagreements=disagreements, labelled=labelled, shadow_wins=wins,
                       champion_wins=discordant - wins, window_start=0.0, window_end=1.0)


@pytest.mark.parametrize(("q", "policy", "final"), [
    (0.8, ShadowPolicy(), "promote_challenger"),
    (0.8, ShadowPolicy(per_model={"churn": "champion"}), "promote_champion"),
    (0.2, ShadowPolicy(), "reject"),
])
def test_a_better_shadow_is_promoted_and_a_worse_one_rejected(
        q: float, policy: ShadowPolicy, final: str) -> None:
    rng = np.random.default_rng(11)
    judge = ShadowJudge(policy, clock=lambda: 5.0)
    reference = PairedCorrectnessTest(policy.alpha)
    looks: list[ShadowDecided] = []
    while not looks or looks[-1].action == "continue":
        for _ in range(3):  # three join partitions' counts per look
            counts = _pairs(rng, 200, q)
            judge.take(counts)
            for name in ("requests", "disagreements", "labelled", "shadow_wins",
                         "champion_wins"):
                setattr(reference.pairs, name,
                        getattr(reference.pairs, name) + getattr(counts, name))
        (look,) = judge.look()
        expected = reference.decide()
        assert (look.estimate, look.lower, look.upper, look.p_value, look.labelled) == (
            expected.estimate, expected.lower, expected.upper, expected.p_value,
            expected.labelled)
        assert look.disagreement == pytest.approx(reference.disagreement().estimate)
        looks.append(look)
    assert looks[-1].action == final and looks[-1].answer_version == "v1"
    assert all(look.action == "continue" for look in looks[:-1])
    judge.take(_pairs(rng, 200, q))  # a decided shadow is judged no more
    assert judge.look() == []


def test_an_equal_shadow_is_rejected_at_the_horizon() -> None:
    rng = np.random.default_rng(3)
    judge = ShadowJudge(ShadowPolicy(horizon=3000))
    actions = []
    while not actions or actions[-1] == "continue":
        judge.take(_pairs(rng, 400, 0.5))
        (look,) = judge.look()
        actions.append(look.action)
    assert actions[-1] == "reject" and look.labelled >= 3000
    assert "undecided at the horizon" in look.reason


def test_the_policy_reads_its_setting_and_names_it_when_wrong() -> None:
    policy = ShadowPolicy.parse("champion, fraud=challenger", 10, 0.05)
    assert (policy.promote_to, dict(policy.per_model)) == ("champion", {"fraud": "challenger"})
    with pytest.raises(ValueError, match="INFERWATCH_MONITOR_SHADOW_PROMOTE"):
        ShadowPolicy.parse("churn=live", 10, 0.05)


def test_the_decision_stage_judges_the_shadow_pairs_topic_and_restores_a_judge() -> None:
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=DecisionConfig(),
                          max_record_bytes=1 << 20, clock=lambda: 9.0)
    rng = np.random.default_rng(5)
    counts = [_pairs(rng, 300, 0.9, labelled_share=1.0, disagree=0.3) for _ in range(4)]
    stage.add([SourceRecord(TOPICS.shadow_pairs, i % 3, i, b"churn", encode(c))
               for i, c in enumerate(counts)])
    out = [o for o in stage.flush(force=True) or [] if o.topic == TOPICS.model_updates]
    (look,) = BatchDecoder(ShadowDecided, max_record_bytes=1 << 20).decode(
        [SourceRecord(o.topic, 0, 0, o.key, o.value) for o in out]).events
    assert out[0].key == b"churn"
    assert look.requests == sum(c.requests for c in counts) and look.action == (
        "promote_challenger")
    saved = {o.key: o.value for o in stage.flush(force=True) or []}  # nothing new: no look
    assert SHADOW_KEY + b"churn" not in saved
    copy = ShadowJudge()
    copy.adopt("churn", stage.shadows.record("churn"))
    copy.take(counts[0])
    assert copy.look() == []  # decided before the restart: stays decided


def test_a_restarted_decision_step_goes_on_from_the_saved_counts() -> None:
    rng = np.random.default_rng(9)
    counts = [_pairs(rng, 300, 0.5) for _ in range(4)]

    def stage() -> DecisionStage:
        return DecisionStage(topics=TOPICS, references=lambda m: None,
                             config=DecisionConfig(), max_record_bytes=1 << 20,
                             clock=lambda: 9.0)

    def feed(into: DecisionStage, part: list[ShadowPairs]) -> list:
        into.add([SourceRecord(TOPICS.shadow_pairs, 0, i, b"churn", encode(c))
                  for i, c in enumerate(part)])
        return into.flush(force=True) or []

    whole = stage()
    feed(whole, counts[:2])
    last = feed(whole, counts[2:])
    first, restarted = stage(), stage()
    saved = {o.key: o.value for o in feed(first, counts[:2])
             if o.topic == TOPICS.decision_state}
    assert SHADOW_KEY + b"churn" in saved
    restarted.adopt(saved, owns=lambda model: True)
    again = feed(restarted, counts[2:])

    def looks(out: list) -> list[ShadowDecided]:
        return BatchDecoder(ShadowDecided, max_record_bytes=1 << 20).decode(
            [SourceRecord(o.topic, 0, 0, o.key, o.value) for o in out
             if o.topic == TOPICS.model_updates]).events

    assert looks(again) == looks(last) and looks(last)[0].requests == 1200
    nobody = stage()
    nobody.adopt(saved, owns=lambda model: False)
    assert nobody.shadows.record("churn") == {}
