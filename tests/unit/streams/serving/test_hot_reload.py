"""Hot reload: unbound variants follow the champion alias; a bad artifact never serves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.experiment_actuator import ExperimentActuator
from inference.registry import ModelStore
from inference.served_versions import CHAMPION, ServedVersions
from inference.torch_predictor import StandardisedMLP, save_artifact
from streams.experiments.spec import ExperimentSpec
from streams.experiments.stop import stop_decision
from streams.serving.hot_reload import HotReload
from streams.serving.model_load_alert import load_failure_alert
from streams.serving.references import References
from streams.wire.codec import encode
from streams.wire.events import ExperimentStarted, ModelVersionPublished


def _publish(store: ModelStore, version: str, seed: int, features: tuple[str, ...] = (
        "a", "b", "c"), artifact: bytes | None = None) -> None:
    build = store.root.parent / f"build-{version}"
    build.mkdir(parents=True)
    if artifact is not None:
        (build / "model.pt").write_bytes(artifact)
    elif features:
        torch.manual_seed(seed)
        n = len(features)
        meta = {"model": "churn", "version": version, "features": list(features),
                "mean": [0.0] * n, "std": [1.0] * n, "hidden": [8], "n_classes": 2}
        save_artifact(build / "model.pt", StandardisedMLP([0.0] * n, [1.0] * n, [8], 2), meta)
    else:
        (build / "notes.txt").write_text("no model here")
    store.publish("churn", version, build)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    _publish(store, "v1", seed=1)
    return store


def _score(served: ServedVersions) -> tuple[str, np.ndarray]:
    predictor = served.predictor("churn", "A")
    assert predictor is not None
    return predictor.version, predictor.predict_batch(np.ones((4, 3))).scores


def test_unbound_variants_follow_the_champion_not_a_newer_unvalidated_version(
        store: ModelStore) -> None:
    store.set_alias("churn", CHAMPION, "v1")
    served = ServedVersions(store, "cpu")
    assert _score(served)[0] == "v1"
    _publish(store, "v2", seed=2)  # a candidate, published before validation
    assert served.invalidate("churn") == []
    assert _score(served)[0] == "v1"
    store.set_alias("churn", CHAMPION, "v2")  # validation passed
    assert served.invalidate("churn") == []
    version, scores = _score(served)
    expected = store.load_predictor("churn", "v2", "cpu").predict_batch(np.ones((4, 3))).scores
    assert version == "v2"
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert served.loaded("churn") == ["v1", "v2"]  # v1 stays loaded for a rollback
    assert References(served).reference("churn") is None  # profiles follow the champion (none here)


@pytest.mark.parametrize(("kind", "message"), [
    ("corrupt", "UnpicklingError|RuntimeError|EOFError|Error"),
    ("missing", "FileNotFoundError: churn v2 has no model.pt"),
    ("incompatible", "incompatible artifact: churn v2 reads features"),
])
def test_a_bad_artifact_fails_its_load_and_serving_goes_on_on_the_champion(
        store: ModelStore, kind: str, message: str) -> None:
    store.set_alias("churn", CHAMPION, "v1")
    served = ServedVersions(store, "cpu")
    before = _score(served)
    if kind == "corrupt":
        _publish(store, "v2", seed=2, artifact=b"\x80\x04 not a torch file")
    elif kind == "missing":
        _publish(store, "v2", seed=2, features=())
    else:
        _publish(store, "v2", seed=2, features=("a", "b", "z"))
    store.set_alias("churn", CHAMPION, "v2")
    failures = served.invalidate("churn")
    assert [(f.variant, f.version, f.kept) for f in failures] == [("A", "v2", "v1")]
    assert __import__("re").search(message, failures[0].error)
    version, scores = _score(served)
    assert version == "v1"
    np.testing.assert_allclose(scores, before[1])
    assert served.loaded("churn") == ["v1"]
    alert = load_failure_alert(failures[0], ModelVersionPublished(
        model="churn", version="v2", artifact="x", action="promoted"))
    assert alert.status == "firing" and alert.labels["version"] == "v2"
    assert failures[0].error in alert.annotations["description"]


def test_a_load_failure_ends_when_a_good_version_loads_or_the_alias_moves_back(
        store: ModelStore) -> None:
    from streams.serving.model_load_alert import load_recovered_alert

    store.set_alias("churn", CHAMPION, "v1")
    served = ServedVersions(store, "cpu")
    _score(served)
    _publish(store, "v2", seed=2, artifact=b"\x80\x04 not a torch file")
    store.set_alias("churn", CHAMPION, "v2")
    (failure,) = served.invalidate("churn")
    assert served.take_recovered() == []
    assert len(served.invalidate("churn")) == 1  # still failing: still open, nothing over
    assert served.take_recovered() == []
    _publish(store, "v3", seed=3)
    store.set_alias("churn", CHAMPION, "v3")
    assert served.invalidate("churn") == []
    (over,) = served.take_recovered()
    assert (over.variant, over.version, over.kept, over.at) == ("A", "v2", "v3", failure.at)
    fired = load_failure_alert(failure, ModelVersionPublished(
        model="churn", version="v2", artifact="x", action="promoted"))
    resolved = load_recovered_alert(over, now=9.0)
    assert (resolved.status, resolved.fingerprint, resolved.labels) == (
        "resolved", fired.fingerprint, fired.labels)
    assert served.take_recovered() == []  # once
    # a second failure that ends because the alias goes back to what is served
    _publish(store, "v4", seed=4, artifact=b"garbage")
    store.set_alias("churn", CHAMPION, "v4")
    assert [f.version for f in served.invalidate("churn")] == ["v4"]
    store.set_alias("churn", CHAMPION, "v3")
    assert served.invalidate("churn") == []
    assert [(f.version, f.kept) for f in served.take_recovered()] == [("v4", "v3")]


def _promoted(version: str) -> bytes:
    return encode(ModelVersionPublished(model="churn", version=version, artifact="x",
                                        action="promoted", alias=CHAMPION))


async def test_model_updates_fire_a_load_ticket_and_resolve_it_with_the_same_identity(
        store: ModelStore) -> None:
    store.set_alias("churn", CHAMPION, "v1")
    served = ServedVersions(store, "cpu")
    _score(served)
    reload = HotReload(served, ExperimentActuator(store, {"A": 1.0}), serves=True,
                       clock=lambda: 9.0)
    _publish(store, "v2", seed=2, artifact=b"\x80\x04 not a torch file")
    store.set_alias("churn", CHAMPION, "v2")
    (fired,) = await reload.take(_promoted("v2"))
    assert (fired.status, fired.labels["detector"], fired.labels["version"]) == (
        "firing", "model_load", "v2")
    assert fired.annotations["summary"] == "churn v2 cannot be loaded: variant A still serves v1"
    assert _score(served)[0] == "v1"
    (again,) = await reload.take(_promoted("v2"))  # redelivered: the same ticket, still firing
    assert (again.status, again.fingerprint) == ("firing", fired.fingerprint)
    _publish(store, "v3", seed=3)
    store.set_alias("churn", CHAMPION, "v3")
    (resolved,) = await reload.take(_promoted("v3"))
    assert (resolved.status, resolved.fingerprint, resolved.starts_at, resolved.ends_at) == (
        "resolved", fired.fingerprint, fired.starts_at, 9.0)
    assert _score(served)[0] == "v3"


async def test_an_undecodable_update_is_skipped(store: ModelStore,
                                               caplog: pytest.LogCaptureFixture) -> None:
    served = ServedVersions(store, "cpu")
    reload = HotReload(served, ExperimentActuator(store, {"A": 1.0}), serves=True)
    assert await reload.take(b'{"model": "churn"') == []
    assert served.changes == 0
    assert "undecodable model update skipped" in caplog.text


@pytest.mark.parametrize("serves", [True, False])
async def test_a_decided_rollback_is_applied_only_by_a_worker_that_serves(
        store: ModelStore, serves: bool) -> None:
    served = ServedVersions(store, "cpu")
    reload = HotReload(served, ExperimentActuator(store, {"A": 0.5, "B": 0.5}),
                       serves=serves)
    rollback = stop_decision(ExperimentSpec("churn-v1", "churn", "A", "B", 0.5), now=1.0)
    assert await reload.take(encode(rollback)) == []
    assert store.traffic("churn") == ({"A": 1.0, "B": 0.0} if serves else {})
    assert served.changes == (1 if serves else 0)


@pytest.mark.parametrize("serves", [True, False])
async def test_a_started_experiment_rereads_the_split_and_moves_the_references(
        store: ModelStore, serves: bool) -> None:
    served = ServedVersions(store, "cpu")
    actuator = ExperimentActuator(store, {"A": 1.0, "B": 0.0})
    reload = HotReload(served, actuator, serves=serves)
    assert actuator.router("churn").split == {"A": 1.0, "B": 0.0}
    store.set_traffic("churn", {"A": 0.5, "B": 0.5})
    started = ExperimentStarted(experiment="churn-v1", model="churn", champion="A",
                                challenger="B", share=0.5)
    assert await reload.take(encode(started)) == []
    assert actuator.router("churn").split == {"A": 0.5, "B": 0.5}
    assert served.changes == 1
    assert served.loaded("churn") == []  # nothing served yet: nothing kept loaded
