"""Model cards (content hash, lineage) and the alias history of the model store."""

from __future__ import annotations

import hashlib
from itertools import count
from pathlib import Path

import pytest

from inference.model_card import (
    CARD_FILE,
    AliasChange,
    Lineage,
    ModelCard,
    TrafficChange,
    content_hash,
)
from inference.registry import ModelStore


@pytest.fixture
def build(tmp_path: Path) -> Path:
    src = tmp_path / "build"
    (src / "sub").mkdir(parents=True)
    (src / "model.pt").write_bytes(b"weights")
    (src / "sub" / "reference.json").write_text("{}")
    return src


def test_content_hash_is_sha256_over_paths_sizes_and_bytes(build: Path) -> None:
    expected = hashlib.sha256(b"model.pt\x007\x00weights" + b"sub/reference.json\x002\x00{}")
    assert content_hash(build) == f"sha256:{expected.hexdigest()}"
    (build / CARD_FILE).write_text("ignored")  # the card is not its own content
    assert content_hash(build) == f"sha256:{expected.hexdigest()}"
    (build / "model.pt").write_bytes(b"weightz")
    assert content_hash(build) != f"sha256:{expected.hexdigest()}"


def test_publish_with_lineage_writes_a_card(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models", clock=lambda: 1700.0)
    lineage = Lineage(parent="v1", data_range=(100.0, 200.0),
                      metrics={"accuracy": 0.91, "n_train": 1600}, device="cuda")
    path = store.publish("churn", "v2", build, lineage=lineage)
    card = store.card("churn", "v2")
    assert card == ModelCard("churn", "v2", content_hash(build), 1700.0, lineage)
    assert (path / CARD_FILE).is_file() and store.verify("churn", "v2") == card
    assert ModelCard.from_json((path / CARD_FILE).read_text()).lineage.data_range == (100.0, 200.0)
    store.publish("churn", "v3", build)  # without lineage: the old layout, no card
    assert store.card("churn", "v3") is None
    with pytest.raises(FileNotFoundError, match=r"no card\.json"):
        store.verify("churn", "v3")


def test_verify_names_a_corrupt_version(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models")
    path = store.publish("churn", "v2", build, lineage=Lineage())
    (path / "model.pt").write_bytes(b"truncated")
    with pytest.raises(ValueError, match="churn v2 is corrupt"):
        store.verify("churn", "v2")


def test_load_predictor_refuses_a_corrupt_carded_version(tmp_path: Path) -> None:
    import torch

    from inference.torch_predictor import StandardisedMLP, save_artifact

    src = tmp_path / "src"
    src.mkdir()
    meta = {"model": "churn", "version": "v1", "features": ["a"], "mean": [0.0], "std": [1.0],
            "hidden": [2], "n_classes": 2}
    save_artifact(src / "model.pt", StandardisedMLP([0.0], [1.0], [2], 2), meta)
    store = ModelStore(tmp_path / "models")
    path = store.publish("churn", "v1", src, lineage=Lineage(device="cpu"))
    assert store.load_predictor("churn", "v1", device="cpu").version == "v1"
    blob = torch.load(path / "model.pt", weights_only=True)
    blob["state_dict"]["layers.0.weight"] += 1.0  # still loadable, but not what was published
    torch.save(blob, path / "model.pt")
    with pytest.raises(ValueError, match="churn v1 is corrupt"):
        store.load_predictor("churn", "v1", device="cpu")


def test_alias_history_records_every_move_with_time_and_previous(
    tmp_path: Path, build: Path
) -> None:
    ticks = count(10)
    store = ModelStore(tmp_path / "models", clock=lambda: float(next(ticks)))
    for v in ("v1", "v2", "v3"):
        store.publish("churn", v, build)
    store.set_alias("churn", "champion", "v1")
    store.set_alias("churn", "challenger", "v2")
    store.set_alias("churn", "champion", "v2", reason="promoted by experiment exp-1")
    store.set_alias("churn", "champion", "v2")  # no move, nothing recorded
    store.set_alias("churn", "champion", "v1", reason="rollback: latency guardrail")
    history = store.alias_history("churn")
    assert history == [
        AliasChange("churn", "champion", "v1", None, 10.0),
        AliasChange("churn", "challenger", "v2", None, 11.0),
        AliasChange("churn", "champion", "v2", "v1", 12.0, "promoted by experiment exp-1"),
        AliasChange("churn", "champion", "v1", "v2", 13.0, "rollback: latency guardrail"),
    ]
    assert [c.version for c in store.alias_history("churn", "champion")] == ["v1", "v2", "v1"]
    assert store.aliases("churn") == {"champion": "v1", "challenger": "v2"}
    assert ModelStore(tmp_path / "models").alias_history("churn") == history  # it persists
    assert store.alias_history("other") == []


def test_traffic_history_records_each_change_of_the_split_and_why(tmp_path: Path) -> None:
    ticks = count(20)
    store = ModelStore(tmp_path / "models", clock=lambda: float(next(ticks)))
    store.start_experiment("churn", {"name": "churn-v2", "champion": "A", "challenger": "B",
                                     "share": 0.5}, {"A": 0.5, "B": 0.5})
    store.set_traffic("churn", {"A": 1.0, "B": 0.0}, reason="experiment churn-v2 rollback")
    store.set_traffic("churn", {"A": 1.0, "B": 0.0}, reason="a redelivered decision")
    assert store.traffic_history("churn") == [
        TrafficChange("churn", {"A": 0.5, "B": 0.5}, {}, 20.0, "experiment churn-v2 started"),
        TrafficChange("churn", {"A": 1.0, "B": 0.0}, {"A": 0.5, "B": 0.5}, 21.0,
                      "experiment churn-v2 rollback"),
    ]
    assert ModelStore(tmp_path / "models").traffic_history("churn") == (
        store.traffic_history("churn"))
    assert store.traffic_history("other") == []


def test_versions_ignore_the_history_file(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", build)
    store.set_alias("churn", "champion", "v1")
    assert store.versions("churn") == ["v1"] and store.resolve("churn", "champion") == "v1"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"data_range": (5.0, 1.0)}, "Lineage.data_range"),
    ({"data_range": (float("nan"), 1.0)}, "Lineage.data_range"),
    ({"metrics": {"acc": "high"}}, r"Lineage.metrics\['acc'\]"),
])
def test_bad_lineage_names_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Lineage(**kwargs)


def test_a_history_line_that_is_not_one_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models", clock=lambda: 1.0)
    store.set_traffic("churn", {"A": 1.0})
    path = tmp_path / "models" / "churn" / ".traffic-history.jsonl"
    with path.open("a") as f:
        f.write("\n{not json\n")
    with pytest.raises(ValueError, match=r"traffic-history.jsonl line 3 is not a history "
                                         r"entry .*'\{not json'"):
        store.traffic_history("churn")
    (tmp_path / "models" / "churn" / ".alias-history.jsonl").write_text('{"model": "churn"}\n')
    with pytest.raises(ValueError, match=r"alias-history\.jsonl line 1 is not a history entry"):
        store.alias_history("churn")
