"""Loading a version folder by its spec: each tensor kind's predictions equal the model's
own output, computed directly, at batch 1 and batch many."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from inference.loaders import load_version
from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from inference.predictor import Predictor
from inference.spec_predictor import SpecPredictor

CLASSES = ["low", "mid", "high"]
VOCABULARY = ["free", "pro", "team", "enterprise"]
BATCHES = [1, 17]


class Scorer(nn.Module):
    """Numeric rows and one categorical code in, three logits out."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = nn.Embedding(len(VOCABULARY), 2)
        self.head = nn.Sequential(nn.Linear(3 + 2, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([numeric, self.plan(categorical[:, 0])], dim=1))


def spec(kind: str, *, categorical: bool = True, **more: Any) -> ModelSpec:
    inputs: dict[str, Any] = {"numeric": [{"name": n} for n in ("tenure", "spend", "age")]}
    if categorical:
        inputs["categorical"] = [{"name": "plan", "vocabulary": VOCABULARY}]
    return ModelSpec.from_dict({"kind": kind, "task": "multiclass", "classes": CLASSES,
                                "inputs": inputs, **more})


def inputs(n: int, seed: int = 1) -> ModelInputs:
    rng = np.random.default_rng(seed)
    return ModelInputs(rng.normal(size=(n, 3)).astype(np.float32),
                       rng.integers(0, len(VOCABULARY), size=(n, 1)).astype(np.int64))


def direct(net: Any, x: ModelInputs, categorical: bool = True) -> np.ndarray:
    """The model's own probabilities: softmax over its logits, called by hand."""
    with torch.no_grad():
        args = [torch.from_numpy(x.numeric)]
        if categorical:
            args.append(torch.from_numpy(x.categorical))
        return torch.softmax(net(*args), dim=1).numpy()


def version_folder(tmp_path: Path, name: str = "v1") -> Path:
    folder = tmp_path / "models" / "churn" / name
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def scorer() -> Scorer:
    torch.manual_seed(0)
    return Scorer().eval()


def check_against(predictor: SpecPredictor, net: Any, categorical: bool = True) -> None:
    for n in BATCHES:
        x = inputs(n, seed=n)
        out = predictor.predict_batch(x)
        expected = direct(net, x, categorical)
        np.testing.assert_allclose(out.probabilities, expected, atol=1e-5, rtol=0)
        np.testing.assert_array_equal(out.labels, expected.argmax(axis=1))
        assert len(out) == n and out.embeddings is None and out.values is None


def test_torchscript_serves_what_the_script_computes(tmp_path: Path, scorer: Scorer) -> None:
    folder = version_folder(tmp_path)
    torch.jit.save(torch.jit.script(scorer), str(folder / "model.ts"))
    spec("torchscript").save(folder)
    predictor = load_version(folder, "cpu")
    assert isinstance(predictor, Predictor)
    assert (predictor.model, predictor.version, predictor.device) == ("churn", "v1", "cpu")
    assert predictor.features == ("tenure", "spend", "age")
    assert predictor.spec.kind == "torchscript"
    check_against(predictor, scorer)


def test_export_serves_what_the_program_computes(tmp_path: Path, scorer: Scorer) -> None:
    folder = version_folder(tmp_path)
    x = inputs(4)
    batch = torch.export.Dim.DYNAMIC
    program = torch.export.export(
        scorer, (torch.from_numpy(x.numeric), torch.from_numpy(x.categorical)),
        dynamic_shapes=({0: batch}, {0: batch}))
    torch.export.save(program, str(folder / "model.pt2"))
    spec("export").save(folder)
    check_against(load_version(folder, "cpu"), scorer)


SHIPPED = '''
import torch


class Recorder:
    """A callable over tensors that keeps the dtype of what it was given."""

    def __init__(self, net):
        self.net = net
        self.seen = []

    def __call__(self, numeric, categorical):
        self.seen.append((numeric.dtype, categorical.dtype))
        return self.net(numeric, categorical)


def build(folder):
    net = torch.jit.load(str(folder / "net.ts"))
    return Recorder(net)


def constant(folder):
    return lambda numeric: torch.full((len(numeric), 3), float({logit}))
'''


def ship(folder: Path, logit: float = 0.0) -> None:
    """Ship the package ``user_scorer`` inside the version folder."""
    (folder / "user_scorer").mkdir()
    (folder / "user_scorer" / "__init__.py").write_text(SHIPPED.replace("{logit}", str(logit)))


def test_entrypoint_calls_the_users_factory_with_int64_codes(tmp_path: Path,
                                                             scorer: Scorer) -> None:
    folder = version_folder(tmp_path)
    torch.jit.save(torch.jit.script(scorer), str(folder / "net.ts"))
    ship(folder)
    spec("entrypoint", entrypoint="user_scorer:build").save(folder)
    predictor = load_version(folder, "cpu", warmup=False)
    check_against(predictor, scorer)
    assert predictor.module.seen == [(torch.float32, torch.int64)] * len(BATCHES)


def test_entrypoints_of_two_versions_each_import_their_own_module(tmp_path: Path) -> None:
    served = []
    for name, logit in (("v1", 0.0), ("v2", 5.0)):
        folder = version_folder(tmp_path, name)
        ship(folder, logit)
        spec("entrypoint", categorical=False, entrypoint="user_scorer:constant").save(folder)
        served.append(load_version(folder, "cpu"))
    x = np.zeros((2, 3))
    np.testing.assert_allclose(served[0].predict_batch(x).probabilities, 1 / 3, atol=1e-6)
    np.testing.assert_allclose(served[1].predict_batch(x).probabilities, 1 / 3, atol=1e-6)
    assert served[0].module(torch.zeros(1, 3))[0, 0] == 0.0
    assert served[1].module(torch.zeros(1, 3))[0, 0] == 5.0


def test_an_installed_entrypoint_and_probabilities_as_given(tmp_path: Path) -> None:
    folder = version_folder(tmp_path)
    # nn.Identity(folder) ignores its argument: the model returns its inputs
    spec("entrypoint", categorical=False, entrypoint="torch.nn:Identity",
         outputs="probabilities").save(folder)
    predictor = load_version(folder, "cpu", warmup=False)
    rows = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]], dtype=np.float32)
    out = predictor.predict_batch(rows)
    np.testing.assert_allclose(out.probabilities, rows, atol=1e-7)
    assert out.labels.tolist() == [2, 0]


def test_a_regression_serves_its_values(tmp_path: Path) -> None:
    torch.manual_seed(3)
    net = nn.Linear(3, 1).eval()
    folder = version_folder(tmp_path)
    torch.jit.save(torch.jit.script(net), str(folder / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "regression", "inputs": {
        "numeric": [{"name": n} for n in ("a", "b", "c")]}}).save(folder)
    x = inputs(9).numeric
    out = load_version(folder, "cpu").predict_batch(x)
    with torch.no_grad():
        expected = net(torch.from_numpy(x))[:, 0].numpy()
    assert out.values is not None
    np.testing.assert_allclose(out.values, expected, atol=1e-6)
    np.testing.assert_array_equal(out.scores, out.values)
    assert out.labels.tolist() == [0] * 9 and out.probabilities.shape == (9, 0)
