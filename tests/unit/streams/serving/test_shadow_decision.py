"""A shadow's final verdict applied to the registry (tmp store, no Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.registry import ModelStore
from inference.shadow_binding import bind_shadow, shadow_of, shadow_record
from streams.cli.models import describe_model
from streams.serving.shadow_decision import apply_shadow_decision
from streams.wire.events import ShadowAction, ShadowDecided


def _look(action: ShadowAction, version: str = "v2") -> ShadowDecided:
    return ShadowDecided(id="x", model="churn", version=version, answer_version="v1",
                         action=action, test="beta-binomial-discordant-pairs", estimate=0.7,
                         lower=0.6, upper=0.8, p_value=0.001, effect=0.02, labelled=900,
                         discordant=100, requests=2000, disagreement=0.05,
                         disagreement_lower=0.04, disagreement_upper=0.06,
                         reason="the shadow won 70 of 100 discordant pairs", ts=3.0)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    (tmp_path / "src").mkdir()
    for version in ("v1", "v2"):
        store.publish("churn", version, tmp_path / "src")
    store.set_alias("churn", "champion", "v1")
    bind_shadow(store, "churn", "v2")
    return store


def test_promote_to_champion_moves_the_alias_and_ends_the_shadow(store: ModelStore) -> None:
    assert apply_shadow_decision(_look("promote_champion"), store) is None
    assert store.aliases("churn")["champion"] == "v2"
    assert shadow_of(store, "churn", 1.0) is None
    assert ("shadow: v2 ended: promoted to champion (v2 against v1): the shadow won 70 of 100 "
            "discordant pairs") in describe_model(store, "churn")


def test_promote_to_challenger_starts_an_experiment_of_its_own(store: ModelStore) -> None:
    started = apply_shadow_decision(_look("promote_challenger"), store,
                                    configured_experiments="churn-live=churn:A:B:0.2")
    assert started is not None and (started.experiment, started.challenger_version,
                                    started.share) == ("churn-v2", "v2", 0.2)
    assert store.aliases("churn")["challenger"] == "v2"
    assert store.aliases("churn")["champion"] == "v1"
    assert store.experiment("churn")["name"] == "churn-v2"
    assert store.traffic("churn") == {"A": 0.8, "B": 0.2}
    assert shadow_of(store, "churn", 1.0) is None


def test_reject_moves_nothing_and_a_stale_or_repeated_verdict_changes_nothing(
        store: ModelStore) -> None:
    assert apply_shadow_decision(_look("continue"), store) is None
    assert shadow_of(store, "churn", 1.0) is not None  # a look that decides nothing
    apply_shadow_decision(_look("reject"), store)
    ended = shadow_record(store, "churn")
    assert str(ended["ended"]).startswith("rejected (v2 against v1)")
    assert store.aliases("churn")["champion"] == "v1"
    apply_shadow_decision(_look("promote_champion"), store)  # the shadow has ended
    assert store.aliases("churn")["champion"] == "v1" and shadow_record(store, "churn") == ended
