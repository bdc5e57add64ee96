"""A retrained challenger gets an experiment of its own, started once (registry in tmp)."""

from __future__ import annotations

from pathlib import Path

from inference.registry import ModelStore
from streams.experiments.spec import ExperimentSpec
from streams.experiments.start import experiment_of, start_for_challenger

TEMPLATE = ExperimentSpec("churn-exp", "churn", "A", "B", 0.3)


def _store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    (tmp_path / "src").mkdir()
    for version in ("v1", "v2", "v3"):
        store.publish("churn", version, tmp_path / "src")
    store.set_alias("churn", "champion", "v1")
    return store


def test_a_challenger_is_judged_by_an_experiment_named_for_it_with_the_templates_arms(
        tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.set_alias("churn", "challenger", "v2")
    store.set_traffic("churn", {"A": 1.0, "B": 0.0})  # an earlier challenger rolled back
    started = start_for_challenger(store, TEMPLATE, "v2", now=5.0)
    assert started is not None
    assert (started.experiment, started.model, started.champion, started.challenger,
            started.share, started.challenger_version, started.ts) == (
        "churn-v2", "churn", "A", "B", 0.3, "v2", 5.0)
    assert store.experiment("churn") == {"name": "churn-v2", "champion": "A",
                                         "challenger": "B", "share": 0.3}
    assert store.traffic("churn") == {"A": 0.7, "B": 0.3}  # served again


def test_a_replay_announces_it_again_but_leaves_a_later_rollback_as_it_is(
        tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.set_alias("churn", "challenger", "v2")
    first = start_for_challenger(store, TEMPLATE, "v2", now=5.0)
    store.set_traffic("churn", {"A": 1.0, "B": 0.0})  # the experiment rolled it back
    again = start_for_challenger(store, TEMPLATE, "v2", now=9.0)
    assert first is not None and again is not None
    assert again.experiment == first.experiment == "churn-v2"
    assert store.traffic("churn") == {"A": 1.0, "B": 0.0}


def test_nothing_starts_for_a_challenger_the_alias_has_left(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.set_alias("churn", "challenger", "v3")  # a later retrain's challenger
    assert start_for_challenger(store, TEMPLATE, "v2", now=5.0) is None
    assert store.experiment("churn") == {}


def test_a_models_experiment_is_the_configs_else_the_registrys(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert experiment_of("", store, "churn") is None
    store.set_alias("churn", "challenger", "v2")
    start_for_challenger(store, TEMPLATE, "v2", now=5.0)
    assert experiment_of("", store, "churn") == ExperimentSpec("churn-v2", "churn", "A", "B",
                                                                0.3)
    assert experiment_of("exp=churn:A:C:0.1,other=fraud:A:B:0.5", store, "churn") == (
        ExperimentSpec("exp", "churn", "A", "C", 0.1))
    assert experiment_of("other=fraud:A:B:0.5", store, "ranker") is None
