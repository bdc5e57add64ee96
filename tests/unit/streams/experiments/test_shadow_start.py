"""``experiment start --shadow``: the registry's shadow alias and share, then the announcement,
and the shadow's line in ``inferwatch models MODEL`` (registry in tmp, no Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.registry import ModelStore
from inference.shadow_binding import ShadowBinding, end_shadow, shadow_of
from streams.cli.models import describe_model
from streams.experiments.shadow import run as start_shadow
from streams.serving.hot_reload import _decode_update
from streams.wire.codec import encode
from streams.wire.events import ModelUpdate, ModelVersionPublished


class Published:
    def __init__(self) -> None:
        self.events: list[ModelUpdate] = []

    async def __call__(self, event: ModelUpdate) -> None:
        self.events.append(event)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    (tmp_path / "src").mkdir()
    for version in ("v1", "v2"):
        store.publish("churn", version, tmp_path / "src")
    return store


def test_a_shadow_start_binds_the_alias_and_share_then_announces_the_move(
        store: ModelStore) -> None:
    published = Published()
    said = start_shadow(published, store, "churn-shadow", "churn", "v2", 0.3, 5.0)
    (event,) = published.events
    assert isinstance(event, ModelVersionPublished)
    assert (event.model, event.version, event.alias, event.previous, event.ts) == (
        "churn", "v2", "shadow", "", 5.0)
    # the workers' model-updates reader takes it as an alias move (re-reads the model)
    assert _decode_update(encode(event)) == event
    assert shadow_of(store, "churn", 1.0) == ShadowBinding("churn", "v2", 0.3)
    assert "churn v2 in shadow on 30% of the requests" in said
    assert "shadow: v2 on 30% of requests" in describe_model(store, "churn")


def test_a_refused_shadow_writes_and_publishes_nothing(store: ModelStore) -> None:
    published = Published()
    with pytest.raises(ValueError, match="no version 'v7' to shadow"):
        start_shadow(published, store, "x", "churn", "v7", None, 5.0)
    assert published.events == [] and "shadow" not in store.aliases("churn")


def test_the_models_line_shows_the_verdict_that_ended_a_shadow(store: ModelStore) -> None:
    start_shadow(Published(), store, "churn-shadow", "churn", "v2", None, 5.0)
    assert ("shadow: v2 on the default share of requests (INFERWATCH_INFERENCE_SHADOW_SHARE)"
            in describe_model(store, "churn"))
    end_shadow(store, "churn", reason="rejected: v2 is worse")
    assert "shadow: v2 ended: rejected: v2 is worse" in describe_model(store, "churn")
