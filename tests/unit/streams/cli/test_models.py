"""``inferwatch models``: the registry's versions, aliases and history as people read them."""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest

from inference.model_card import Lineage, content_hash
from inference.registry import ModelStore
from streams.cli.main import main
from streams.cli.models import describe_model, describe_models

T0 = 1_780_000_000.0  # 2026-05-28 20:26:40Z


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    ticks = count()
    store = ModelStore(tmp_path / "models", clock=lambda: T0 + 60 * next(ticks))
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.pt").write_bytes(b"weights")
    store.publish("churn", "v1", src)  # an old version: no card
    store.publish("churn", "v2", src, lineage=Lineage(
        parent="v1", data_range=(T0 - 3600, T0), device="cpu",
        metrics={"candidate_accuracy": 0.8812, "champion_accuracy": 0.81}))
    store.set_alias("churn", "champion", "v1")
    store.set_alias("churn", "challenger", "v2", reason="retrain rt-1: passed")
    store.start_experiment("churn", {"name": "churn-v2", "champion": "A", "challenger": "B",
                                     "share": 0.5}, {"A": 0.5, "B": 0.5})
    store.set_traffic("churn", {"A": 1.0, "B": 0.0}, reason="experiment churn-v2 rollback")
    return store


def test_one_line_per_model(store: ModelStore) -> None:
    assert describe_models(store) == [
        "churn: 2 versions (v1, v2); challenger v2, champion v1; split A 100% / B 0%; "
        "experiment churn-v2"]
    assert describe_models(ModelStore(store.root / "empty")) == [
        f"no model published under {store.root / 'empty'}"]


def test_a_model_in_full_with_its_history_in_time_order(store: ModelStore) -> None:
    card = store.card("churn", "v2")
    assert card is not None and card.content_hash == content_hash(store.path_for("churn", "v2"))
    lines = describe_model(store, "churn")
    assert lines[:3] == [
        "churn: versions",
        "  v1  (published without a card)",
        f"  v2  created {_at(card.created_at)}, parent v1, device cpu, data "
        f"2026-05-28 19:26:40Z .. 2026-05-28 20:26:40Z, holdout accuracy 0.8812, "
        f"sha256 {card.content_hash[:12]}"]
    assert lines[3:] == [
        "aliases: challenger -> v2, champion -> v1",
        "traffic: A 100% / B 0%",
        "experiment: churn-v2 (A against B, share 0.5)",
        "history:",
        f"  {_at(T0 + 60)}  champion (new) -> v1",
        f"  {_at(T0 + 120)}  challenger (new) -> v2: retrain rt-1: passed",
        f"  {_at(T0 + 180)}  split as configured -> A 50% / B 50%: experiment churn-v2 started",
        f"  {_at(T0 + 240)}  split A 50% / B 50% -> A 100% / B 0%: experiment churn-v2 rollback",
    ]


def test_the_command_prints_it_and_names_an_unknown_model(
        store: ModelStore, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INFERWATCH_INFERENCE_MODEL_DIR", str(store.root))
    assert main(["models"]) == 0
    assert capsys.readouterr().out.startswith("churn: 2 versions")
    assert main(["models", "churn"]) == 0
    assert "challenger (new) -> v2: retrain rt-1: passed" in capsys.readouterr().out
    assert main(["models", "fraud"]) == 2
    assert "models: no model 'fraud' under" in capsys.readouterr().err


def _at(ts: float) -> str:
    import time
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ts))
