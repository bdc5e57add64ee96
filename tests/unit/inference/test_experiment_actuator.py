"""Experiment decisions applied to the registry: the champion alias, the rolled-back split."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.experiment_actuator import CHAMPION, ExperimentActuator
from inference.registry import ModelStore
from inference.version_binding import VersionBinding


@pytest.fixture()
def store(tmp_path: Path) -> ModelStore:
    src = tmp_path / "build"
    src.mkdir()
    (src / "model.pt").write_bytes(b"w")
    s = ModelStore(tmp_path / "models")
    for version in ("v1", "v2"):
        s.publish("churn", version, src)
    s.set_alias("churn", CHAMPION, "v1")
    return s


def test_a_promote_moves_the_champion_alias_and_what_a_bound_variant_resolves(
        store: ModelStore) -> None:
    binding = VersionBinding.parse("churn:A=champion,churn:B=v2")
    assert store.resolve("churn", binding.ref("churn", "A")) == "v1"
    ExperimentActuator(store, {"A": 0.5, "B": 0.5}).apply(
        "churn", "promote", "A", "B", challenger_version="v2")
    assert store.resolve("churn", binding.ref("churn", "A")) == "v2"
    assert store.aliases("churn") == {CHAMPION: "v2"}
    assert store.traffic("churn") == {}  # a promote leaves the split alone


def test_a_rollback_survives_a_restart_and_keeps_champion_units_where_they_were(
        store: ModelStore) -> None:
    units = [f"user-{i}" for i in range(2000)]
    before = ExperimentActuator(store, {"A": 0.5, "B": 0.5}, salt="churn-v2")
    assigned = {u: before.router("churn").assign(u) for u in units}
    assert 900 < sum(v == "B" for v in assigned.values()) < 1100
    assert before.apply("churn", "rollback", "A", "B", challenger_version="v2") == \
        {"A": 1.0, "B": 0.0}
    restarted = ExperimentActuator(store, {"A": 0.5, "B": 0.5}, salt="churn-v2")
    after = {u: restarted.router("churn").assign(u) for u in units}
    assert set(after.values()) == {"A"}
    assert all(after[u] == "A" for u, v in assigned.items() if v == "A")
    # a redelivered rollback changes nothing
    assert restarted.apply("churn", "rollback", "A", "B", challenger_version="v2") is None


def test_the_sticky_hash_is_per_experiment(store: ModelStore) -> None:
    one = ExperimentActuator(store, {"A": 0.5, "B": 0.5}, salt="exp-1").router("churn")
    two = ExperimentActuator(store, {"A": 0.5, "B": 0.5}, salt="exp-2").router("churn")
    same = sum(one.assign(f"u{i}") == two.assign(f"u{i}") for i in range(4000))
    assert 1800 < same < 2200  # independent splits agree on about half the units


def test_bad_aliases_and_splits_are_refused(store: ModelStore) -> None:
    with pytest.raises(ValueError, match="no published version 'v9'"):
        store.set_alias("churn", CHAMPION, "v9")
    with pytest.raises(ValueError, match="hide a version name"):
        store.set_alias("churn", "v1", "v2")
    with pytest.raises(ValueError, match="summing to 1"):
        store.set_traffic("churn", {"A": 0.7, "B": 0.7})
    with pytest.raises(ValueError, match="serves no version"):
        ExperimentActuator(store, {"A": 1.0}).apply("churn", "promote", "A", "B",
                                                    challenger_version=None)


def test_a_started_experiment_sets_the_split_and_salts_the_hash(tmp_path: Path) -> None:
    from inference.routing import VariantRouter

    store = ModelStore(tmp_path / "models")
    src = tmp_path / "src"
    src.mkdir()
    store.publish("churn", "v1", src)
    act = ExperimentActuator(store, {"A": 1.0}, salt="config-salt")
    assert {act.router("churn").assign(f"u{i}") for i in range(200)} == {"A"}
    store.set_traffic("churn", {"A": 0.0, "B": 1.0})  # a stale override from a rollback
    store.start_experiment("churn", {"name": "exp-9", "champion": "A", "challenger": "B",
                                     "share": 0.3}, {"A": 0.7, "B": 0.3})
    assert act.router("churn").split == {"A": 1.0}  # cached until told
    act.forget("churn")
    router = act.router("churn")
    reference = VariantRouter({"A": 0.7, "B": 0.3}, salt="exp-9")
    units = [f"u{i}" for i in range(2000)]
    assert [router.assign(u) for u in units] == [reference.assign(u) for u in units]
    assert store.experiment("churn")["name"] == "exp-9" and store.models() == ["churn"]
