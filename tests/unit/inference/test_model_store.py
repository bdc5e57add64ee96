"""The model store: paths, natural-order latest, atomic immutable publish, loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.registry import ModelStore
from inference.torch_predictor import StandardisedMLP, TorchPredictor, save_artifact

META = {
    "model": "churn",
    "version": "v1",
    "features": ["a", "b"],
    "mean": [0.0, 0.0],
    "std": [1.0, 1.0],
    "hidden": [3],
    "n_classes": 2,
}


@pytest.fixture
def build(tmp_path: Path) -> Path:
    src = tmp_path / "build"
    src.mkdir()
    torch.manual_seed(0)
    save_artifact(src / "model.pt", StandardisedMLP([0.0, 0.0], [1.0, 1.0], [3], 2), META)
    (src / "reference.json").write_text("{}")
    return src


def test_publish_copies_and_latest_is_natural_order(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.latest("churn") is None and store.versions("churn") == []
    for version in ("v9", "v10", "v2"):
        path = store.publish("churn", version, build)
        assert path == store.path_for("churn", version) == tmp_path / "models" / "churn" / version
        assert sorted(p.name for p in path.iterdir()) == ["model.pt", "reference.json"]
    assert store.versions("churn") == ["v2", "v9", "v10"]
    assert store.latest("churn") == "v10"
    assert not [p for p in (tmp_path / "models" / "churn").iterdir() if p.name.startswith(".")]


def test_published_versions_are_immutable(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", build)
    with pytest.raises(FileExistsError, match="already published"):
        store.publish("churn", "v1", build)


def test_load_predictor_latest_or_named(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", build)
    store.publish("churn", "v2", build)
    latest = store.load_predictor("churn")
    assert isinstance(latest, TorchPredictor) and latest.device in ("cpu", "cuda")
    named = store.load_predictor("churn", "v1", device="cpu")
    x = np.array([[0.5, -1.0]])
    np.testing.assert_array_equal(
        named.predict_batch(x).probabilities,
        TorchPredictor.load(build, "cpu").predict_batch(x).probabilities,
    )


def test_missing_things_say_what_is_missing(tmp_path: Path, build: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(FileNotFoundError, match="no published version of model 'churn'"):
        store.load_predictor("churn")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        store.publish("churn", "v1", tmp_path / "nowhere")
    (build / "model.pt").unlink()
    store.publish("churn", "v1", build)
    with pytest.raises(FileNotFoundError, match=r"no model\.pt"):
        store.load_predictor("churn", "v1")


@pytest.mark.parametrize("name", ["", "../etc", "a/b", ".hidden"])
def test_unsafe_names_are_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="version must be letters"):
        ModelStore(tmp_path).path_for("churn", name)
