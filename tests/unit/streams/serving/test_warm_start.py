"""The warm start: every served model runs once at each batch size before any request."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from streams.serving.warm_start import batch_sizes, warm_inputs, warm_start
from streams.settings import InferenceSettings

NUMERIC = ModelSpec.from_dict({"kind": "torchscript", "task": "binary", "classes": ["0", "1"],
                               "inputs": {"numeric": [{"name": n} for n in "abc"]}})
MIXED = ModelSpec.from_dict({
    "kind": "transformers", "task": "multiclass", "classes": ["x", "y", "z"],
    "inputs": {"numeric": [{"name": "a"}],
               "categorical": [{"name": "plan", "vocabulary": ["free", "pro"]}],
               "text": {"name": "body"}}})


class Counting:
    model, version = "churn", "v1"

    def __init__(self, spec: ModelSpec = NUMERIC, fails: bool = False) -> None:
        self.spec, self.fails = spec, fails
        self.shapes: list[tuple[int, ...]] = []
        self.seen: list[ModelInputs] = []

    def predict_batch(self, x: ModelInputs) -> None:
        if self.fails:
            raise RuntimeError("the model cannot run")
        self.shapes.append(x.numeric.shape)
        self.seen.append(x)


class FakeServed:
    """Two published models, each served to every variant by one predictor."""

    def __init__(self, root: Path) -> None:
        self.store = types.SimpleNamespace(root=root)
        self.by_model = {"churn": Counting(), "fraud": Counting()}
        for name in self.by_model:
            (root / name).mkdir()
        (root / "notes.txt").write_text("not a model")
        self.calls: list[str] = []

    def check_binding(self, variants: Any) -> None:
        self.calls.append("check")

    def warm_up(self, variants: Any) -> None:
        self.calls.append("load")

    def predictor(self, model: str, variant: str) -> Counting | None:
        return self.by_model.get(model)


def test_each_model_runs_at_every_batch_size_after_it_is_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch_predictor = types.ModuleType("inference.torch_predictor")
    torch_predictor.use_cpu_threads = lambda n: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "inference.torch_predictor", torch_predictor)
    served = FakeServed(tmp_path)
    warm_start(served, InferenceSettings(max_batch=48, variants="A=0.5,B=0.5"))  # type: ignore[arg-type]
    assert served.calls == ["check", "load"]
    sizes = [1, 2, 4, 8, 16, 32, 48]
    assert batch_sizes(48) == sizes
    for predictor in served.by_model.values():  # once per variant that it serves
        assert predictor.shapes == [(n, 3) for n in sizes] * 2


def test_a_model_with_categorical_and_text_inputs_is_warmed_with_inputs_of_its_spec(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch_predictor = types.ModuleType("inference.torch_predictor")
    torch_predictor.use_cpu_threads = lambda n: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "inference.torch_predictor", torch_predictor)
    served = FakeServed(tmp_path)
    served.by_model = {"churn": Counting(MIXED), "fraud": Counting(fails=True)}
    warm_start(served, InferenceSettings(max_batch=4, variants="A=1.0"))  # type: ignore[arg-type]
    mixed = served.by_model["churn"].seen
    assert [len(x) for x in mixed] == [1, 2, 4]
    assert all(x.categorical.shape == (len(x), 1) and x.categorical.dtype == np.int64
               and x.text == ["warm up"] * len(x) for x in mixed)
    assert served.by_model["fraud"].shapes == []  # it failed, and the worker still starts


def test_warm_inputs_leave_text_out_of_a_model_without_it() -> None:
    inputs = warm_inputs(NUMERIC, 3)
    assert inputs.numeric.shape == (3, 3) and inputs.categorical.shape == (3, 0)
    assert inputs.text is None
