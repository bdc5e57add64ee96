"""The mlp kind (the demo's own model, with a spec or as a release before specs left it),
and the errors of a version folder that cannot be served: each names its cause."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inference.loaders import load_version
from inference.model_spec import ModelSpec, SpecError
from inference.registry import ModelStore
from inference.torch_predictor import StandardisedMLP, TorchPredictor, mlp_spec, save_artifact
from retrain.trainer import train_classifier

META = {"model": "churn", "version": "v3", "features": ["a", "b", "c"],
        "mean": [1.0, -2.0, 10.0], "std": [2.0, 0.5, 4.0], "hidden": [4], "n_classes": 2}


@pytest.fixture
def net() -> StandardisedMLP:
    torch.manual_seed(0)
    return StandardisedMLP(META["mean"], META["std"], META["hidden"], 2).eval()


def folder_of(tmp_path: Path, net: StandardisedMLP) -> Path:
    folder = tmp_path / "models" / "churn" / "v3"
    folder.mkdir(parents=True)
    save_artifact(folder / "model.pt", net, META)
    return folder


def expected(net: StandardisedMLP, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(x.astype(np.float32))), dim=1).numpy()


@pytest.mark.parametrize("with_spec", [True, False])
def test_mlp_serves_what_the_network_computes(tmp_path: Path, net: StandardisedMLP,
                                              with_spec: bool) -> None:
    folder = folder_of(tmp_path, net)
    if with_spec:
        mlp_spec(META, ["stay", "churn"]).save(folder)
    predictor = load_version(folder, "cpu")
    assert isinstance(predictor, TorchPredictor)
    assert predictor.spec.kind == "mlp" and predictor.features == ("a", "b", "c")
    assert predictor.spec.classes == (("stay", "churn") if with_spec else ("0", "1"))
    for n in (1, 23):
        x = np.random.default_rng(n).normal(size=(n, 3))
        np.testing.assert_allclose(predictor.predict_batch(x).probabilities, expected(net, x),
                                   atol=1e-5, rtol=0)


def test_a_store_of_a_release_before_specs_still_loads(tmp_path: Path,
                                                       net: StandardisedMLP) -> None:
    build = folder_of(tmp_path, net)
    store = ModelStore(tmp_path / "store")
    store.publish("churn", "v1", build)
    predictor = store.load_predictor("churn", "v1", "cpu")
    assert predictor.version == "v1" and predictor.spec.kind == "mlp"
    x = np.ones((2, 3))
    np.testing.assert_allclose(predictor.predict_batch(x).probabilities, expected(net, x),
                               atol=1e-5)


def test_the_demo_training_writes_an_mlp_spec(tmp_path: Path) -> None:
    trained = train_classifier(tmp_path / "out", n=300, epochs=1)
    spec = ModelSpec.load(tmp_path / "out")
    assert (spec.kind, spec.task, spec.classes) == ("mlp", "binary", ("0", "1"))
    assert spec.feature_names == TorchPredictor.load(trained.model_path, "cpu").features
    x = np.random.default_rng(0).normal(size=(5, len(spec.feature_names)))
    np.testing.assert_array_equal(
        load_version(tmp_path / "out", "cpu").predict_batch(x).probabilities,
        TorchPredictor.load(trained.model_path, "cpu").predict_batch(x).probabilities)


def test_an_mlp_spec_must_name_the_artifacts_features(tmp_path: Path,
                                                      net: StandardisedMLP) -> None:
    folder = folder_of(tmp_path, net)
    mlp_spec({**META, "features": ["a", "b", "z"]}).save(folder)
    with pytest.raises(SpecError, match=r"artifact's numeric features \['a', 'b', 'c'\]"):
        load_version(folder, "cpu")


def write_spec(folder: Path, **spec: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"kind": "torchscript", "task": "binary", "classes": ["no", "yes"],
            "inputs": {"numeric": [{"name": "x"}, {"name": "y"}]}, **spec}
    (folder / "model.json").write_text(json.dumps(body))
    return folder


def test_a_missing_artifact_is_named(tmp_path: Path) -> None:
    folder = write_spec(tmp_path / "m" / "v1")
    with pytest.raises(SpecError, match=r"artifact 'model\.ts' is missing: kind torchscript"):
        load_version(folder)
    with pytest.raises(SpecError, match=r"model\.json is missing"):
        load_version(tmp_path)


def test_a_wrong_kind_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"kind must be one of .*got 'onnx'"):
        load_version(write_spec(tmp_path / "a", kind="onnx"))
    # an exported program declared as torchscript: read as the kind says, and refused
    folder = write_spec(tmp_path / "b")
    program = torch.export.export(nn.Linear(2, 2), (torch.zeros(2, 2),))
    torch.export.save(program, str(folder / "model.ts"))
    with pytest.raises(SpecError, match=r"model\.ts is not a loadable torchscript artifact"):
        load_version(folder, "cpu")


def test_a_corrupt_artifact_raises(tmp_path: Path) -> None:
    folder = write_spec(tmp_path / "a")
    (folder / "model.ts").write_bytes(b"\x80\x04 not a torch file")
    with pytest.raises(SpecError, match="not a loadable torchscript artifact"):
        load_version(folder, "cpu")


@pytest.mark.parametrize(("entrypoint", "message"), [
    ("no_such_package.scorer:build", "cannot import 'no_such_package.scorer'"),
    ("torch.nn:no_such_factory", "torch.nn has no callable 'no_such_factory'"),
    ("json:loads", "the factory raised TypeError"),
])
def test_an_entrypoint_that_does_not_load_is_named(tmp_path: Path, entrypoint: str,
                                                    message: str) -> None:
    folder = write_spec(tmp_path / "a", kind="entrypoint", entrypoint=entrypoint)
    with pytest.raises(SpecError, match=message):
        load_version(folder, "cpu")


def test_outputs_that_do_not_fit_the_classes_fail_the_load(tmp_path: Path) -> None:
    folder = write_spec(tmp_path / "a")
    torch.jit.save(torch.jit.script(nn.Linear(2, 3)), str(folder / "model.ts"))
    with pytest.raises(ValueError, match=r"declares 2 classes \['no', 'yes'\], so it must "
                                         r"return \(2, 2\) logits"):
        load_version(folder, "cpu")


def test_inputs_that_do_not_fit_the_spec_are_named(tmp_path: Path) -> None:
    folder = write_spec(tmp_path / "a", inputs={
        "numeric": [{"name": "x"}], "categorical": [{"name": "c", "vocabulary": ["p", "q"]}]})
    torch.jit.save(torch.jit.script(_TwoInputs()), str(folder / "model.ts"))
    predictor = load_version(folder, "cpu")
    with pytest.raises(ValueError, match="takes categorical or text inputs: pass ModelInputs"):
        predictor.predict_batch(np.zeros((3, 1)))
    text = write_spec(tmp_path / "b", inputs={"text": {"name": "body"}})
    torch.jit.save(torch.jit.script(nn.Identity()), str(text / "model.ts"))
    with pytest.raises(SpecError, match=r"takes no text input .*serve a text model as kind "
                                        r"transformers"):
        load_version(text, "cpu")


class _TwoInputs(nn.Module):
    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        return torch.cat([numeric, categorical.float()], dim=1)
