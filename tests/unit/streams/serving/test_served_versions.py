"""Each variant is served its bound registry version, through the inference stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.registry import ModelStore
from inference.routing import VariantRouter
from inference.served_versions import BINDING_SETTING, ServedVersions
from inference.torch_predictor import StandardisedMLP, TorchPredictor, save_artifact
from inference.version_binding import VersionBinding
from streams.errors import ConfigError
from streams.serving.inference_stage import InferenceStage
from streams.serving.references import References
from streams.serving.warm_start import check_binding, warm_start
from streams.settings import InferenceSettings, load
from streams.wire.codec import BatchDecoder, SourceRecord
from streams.wire.events import Prediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")
FEATURES = ["a", "b", "c"]


def _publish(store: ModelStore, version: str, seed: int) -> None:
    """Publish a small MLP whose weights come from ``seed``, as ``churn`` ``version``."""
    build = store.root.parent / f"build-{version}"
    build.mkdir(parents=True)
    torch.manual_seed(seed)
    mean, std = [0.0] * 3, [1.0] * 3
    meta = {"model": "churn", "version": version, "features": FEATURES, "mean": mean,
            "std": std, "hidden": [8], "n_classes": 2}
    save_artifact(build / "model.pt", StandardisedMLP(mean, std, [8], 2), meta)
    store.publish("churn", version, build)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    _publish(store, "v1", seed=1)
    _publish(store, "v2", seed=2)
    return store


def _serve(served: ServedVersions, n: int = 200) -> tuple[list[Prediction], np.ndarray]:
    """Score ``n`` requests split A/B through the inference stage.

    Returns the predictions in request order and the request features.
    """
    stage = InferenceStage(topics=TOPICS, predictors=served.predictor,
                           router=VariantRouter({"A": 0.5, "B": 0.5}), max_batch=n,
                           max_wait_ms=10.0, max_record_bytes=4096, clock=lambda: 100.0)
    x = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    stage.add([SourceRecord(TOPICS.requests, 0, i, f"r{i}".encode(), json.dumps(
        {"id": f"r{i}", "ts": 100.0, "model": "churn", "unit_id": f"u{i}",
         "features": dict(zip(FEATURES, map(float, x[i]), strict=True))}).encode())
        for i in range(n)])
    outputs = stage.flush(force=True) or []
    records = [SourceRecord(o.topic, 0, i, o.key, o.value) for i, o in enumerate(outputs)]
    decoded = BatchDecoder(Prediction, max_record_bytes=1 << 20).decode(records)
    assert decoded.rejected == [] and len(decoded.events) == n
    return sorted(decoded.events, key=lambda p: int(p.request_id[1:])), x


def _expected_scores(store: ModelStore, version: str, x: np.ndarray) -> np.ndarray:
    """What ``version``'s artifact scores, loaded straight from its file."""
    path = store.path_for("churn", version) / "model.pt"
    return TorchPredictor.load(path, "cpu").predict_batch(x).scores


def test_variants_are_served_their_bound_versions(store: ModelStore) -> None:
    served = ServedVersions(store, "cpu", VersionBinding.parse("churn:A=v1"))  # B: latest
    preds, x = _serve(served)
    by_variant = {v: [i for i, p in enumerate(preds) if p.variant == v] for v in "AB"}
    assert min(len(rows) for rows in by_variant.values()) > 50  # both arms are exercised
    versions = {"A": "v1", "B": "v2"}
    for variant, rows in by_variant.items():
        assert {preds[i].model_version for i in rows} == {versions[variant]}
        expected = _expected_scores(store, versions[variant], x[rows])
        np.testing.assert_allclose([preds[i].output.score for i in rows], expected, rtol=1e-6)
    # the two versions really differ: the other version would have scored A differently
    other = _expected_scores(store, "v2", x[by_variant["A"]])
    assert np.max(np.abs(other - [preds[i].output.score for i in by_variant["A"]])) > 1e-3
    assert served.serving("churn") == versions


def test_variants_on_one_version_share_one_loaded_predictor(store: ModelStore) -> None:
    served = ServedVersions(store, "cpu")
    assert served.predictor("churn", "A") is served.predictor("churn", "B")
    assert served.predictor("churn", "A").version == "v2"  # type: ignore[union-attr]
    assert served.predictor("fraud", "A") is None


def test_a_model_update_moves_latest_variants_and_keeps_pinned_ones(store: ModelStore) -> None:
    served = ServedVersions(store, "cpu", VersionBinding.parse("churn:A=v1"))
    pinned = served.predictor("churn", "A")
    assert served.predictor("churn", "B").version == "v2"  # type: ignore[union-attr]
    _publish(store, "v3", seed=3)
    served.invalidate("churn")
    assert served.serving("churn") == {"A": "v1", "B": "v3"}
    assert served.predictor("churn", "A") is pinned  # not reloaded
    assert served.predictor("churn", "B").version == "v3"  # type: ignore[union-attr]
    assert served.loaded("churn") == ["v1", "v2", "v3"]  # v2 kept for a rollback
    preds, _ = _serve(served)
    assert {(p.variant, p.model_version) for p in preds} == {("A", "v1"), ("B", "v3")}
    _publish(store, "v4", seed=4)
    served.invalidate("churn")
    assert served.loaded("churn") == ["v1", "v3", "v4"]  # only the last one left is kept


def test_a_preloaded_version_is_moved_to_without_loading_it_again(
        store: ModelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    served = ServedVersions(store, "cpu", VersionBinding.parse("churn:B=challenger"))
    assert served.predictor("churn", "A").version == "v2"  # type: ignore[union-attr]
    assert served.predictor("churn", "B") is None  # no challenger yet
    _publish(store, "v3", seed=3)
    store.set_alias("churn", "challenger", "v3")
    _publish(store, "v4", seed=4)
    (store.path_for("churn", "v4") / "model.pt").write_bytes(b"not torch")
    loads: list[str] = []
    load = store.load_predictor
    monkeypatch.setattr(store, "load_predictor", lambda model, version, **kw: (
        loads.append(version), load(model, version, **kw))[1])
    assert served.preload("churn", ["A", "B"]) == ["v3"]  # A follows latest: v4, corrupt
    assert served.loaded("churn") == ["v2", "v3"]  # v4 failed: left to invalidate
    failures = served.invalidate("churn")  # B is not served yet: its v3 is kept loaded
    assert [(f.variant, f.version) for f in failures] == [("A", "v4")]
    assert served.loaded("churn") == ["v2", "v3"]
    assert served.predictor("churn", "B").version == "v3"  # type: ignore[union-attr]
    assert loads == ["v4", "v3", "v4"]  # v3 once, by the preload; v4 tried again
    assert served.preload("churn", ["B"]) == []  # nothing left to load


@pytest.mark.parametrize(("text", "problem"), [
    ("churn:B=v9", "'churn' has no version 'v9'"),
    ("churn:C=v1", "no variant 'C' in the traffic split"),
    ("fraud:A=latest", "'fraud' has no version 'latest'"),
])
def test_a_binding_that_cannot_be_served_fails_at_start_naming_the_setting(
        store: ModelStore, text: str, problem: str) -> None:
    served = ServedVersions(store, "cpu", VersionBinding.parse(text))
    with pytest.raises(ConfigError) as info:
        check_binding(served, ["A", "B"])
    assert str(info.value).startswith(f"{BINDING_SETTING}: {text}")
    assert problem in str(info.value)
    if "v9" in text:
        assert "published: v1, v2" in str(info.value)


def test_a_warm_start_loads_each_variants_version_before_the_first_request(
        store: ModelStore) -> None:
    served = ServedVersions(store, "cpu", VersionBinding.parse("churn:A=v1"))
    warm_start(served, InferenceSettings(variants="A=0.5,B=0.5"))
    assert served.serving("churn") == {"A": "v1", "B": "v2"}
    assert served.loaded("churn") == ["v1", "v2"]
    with pytest.raises(ConfigError, match=BINDING_SETTING):
        warm_start(ServedVersions(store, "cpu", VersionBinding.parse("churn:C=v1")),
                   InferenceSettings(variants="A=0.5,B=0.5"))


@pytest.mark.parametrize("text", ["churn=v1", "B=v2", "churn:B=", "churn:B=v1,churn:B=v2"])
def test_an_unreadable_binding_fails_at_load_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(BINDING_SETTING, text)
    with pytest.raises(ConfigError, match=BINDING_SETTING):
        load(InferenceSettings)


def test_the_setting_is_read_into_a_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BINDING_SETTING, "churn:A=v1, churn:B=latest")
    binding = load(InferenceSettings).binding
    assert binding.refs == {("churn", "A"): "v1", ("churn", "B"): "latest"}
    assert binding.ref("churn", "C") == "latest"


def test_the_performance_reference_is_the_latest_versions(store: ModelStore) -> None:
    from detectors.reference.performance import FILE_NAME, PerformanceReference

    served = ServedVersions(store, "cpu")
    references = References(served)
    assert references.performance_reference("churn") is None  # published without one
    ref = PerformanceReference.from_holdout("churn", "v3", [0.9, 0.2, 0.7], [1, 0, 0])
    build = store.root.parent / "build-v3"
    build.mkdir()
    torch.manual_seed(3)
    save_artifact(build / "model.pt", StandardisedMLP([0.0] * 3, [1.0] * 3, [8], 2),
                  {"model": "churn", "version": "v3", "features": FEATURES,
                   "mean": [0.0] * 3, "std": [1.0] * 3, "hidden": [8], "n_classes": 2})
    ref.save(build / FILE_NAME)
    store.publish("churn", "v3", build)
    served.invalidate("churn")
    assert references.performance_reference("churn") == ref
