"""The warm start: every served model runs once at each batch size before any request."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streams.serving.warm_start import batch_sizes, warm_start
from streams.settings import InferenceSettings


class Counting:
    features = ("a", "b", "c")

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def predict_batch(self, x: np.ndarray) -> None:
        self.shapes.append(x.shape)


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
