"""Reduced serving precision: int8 on CPU checked against full precision on a holdout,
refused when accuracy falls or the device cannot run it; half's dtype path on CPU."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from inference.quantize import (
    HOLDOUT_FILE,
    PrecisionRefused,
    convert,
    load_holdout,
    reduce_precision,
    require_device,
)
from inference.registry import ModelStore
from inference.served_versions import ServedVersions
from inference.torch_predictor import StandardisedMLP, TorchPredictor, save_artifact
from streams.settings import InferenceSettings

META = {"model": "churn", "version": "v1", "features": ["a", "b", "c", "d"],
        "mean": [0.0] * 4, "std": [1.0] * 4, "hidden": [32, 32], "n_classes": 2}


@pytest.fixture(scope="module")
def predictor() -> TorchPredictor:
    torch.manual_seed(0)
    module = StandardisedMLP(META["mean"], META["std"], META["hidden"], 2)
    # a quick fit of a curved boundary, so both classes and every margin occur
    x = torch.randn(1000, 4)
    y = ((x[:, 0] + x[:, 1] * x[:, 2]) > 0).long()
    optimiser = torch.optim.Adam(module.parameters(), lr=0.01)
    for _ in range(150):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module(x), y).backward()
        optimiser.step()
    return TorchPredictor(module, META, "cpu")


def _holdout(predictor: TorchPredictor, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Rows labelled by the full-precision model itself: its accuracy there is 1."""
    x = np.random.default_rng(1).normal(size=(n, 4)).astype(np.float32)
    return x, predictor.predict_batch(x).labels


def test_int8_quantises_the_linear_layers_and_keeps_the_accuracy(
        predictor: TorchPredictor) -> None:
    x, y = _holdout(predictor)
    assert 0.2 < y.mean() < 0.8  # both classes
    reduced, check = reduce_precision(predictor, "int8", x, y, tolerance=0.02)
    assert check.full_accuracy == 1.0 and check.n == 5000
    assert 0.98 <= check.accuracy <= 1.0 and check.drop == pytest.approx(1.0 - check.accuracy)
    kinds = {type(m) for m in reduced.module.modules()}
    assert torch.ao.nn.quantized.dynamic.Linear in kinds and torch.nn.Linear not in kinds
    assert reduced.precision == "int8" and predictor.precision == "full"
    full = predictor.predict_batch(x).probabilities
    # int8 rounding moves most probabilities a little and flips the few on the boundary
    diff = np.abs(reduced.predict_batch(x).probabilities - full)[:, 1]
    assert np.median(diff) < 0.01
    # the full-precision predictor is untouched by the conversion
    assert {type(m) for m in predictor.module.modules()} >= {torch.nn.Linear}


def test_int8_is_refused_when_it_flips_the_holdout(predictor: TorchPredictor) -> None:
    """Rows on the full model's boundary (margin under 1e-3): int8's rounding flips many,
    so at a zero tolerance the reduced model is refused, with both accuracies named."""
    x = np.random.default_rng(2).normal(size=(200_000, 4)).astype(np.float32)
    p = predictor.predict_batch(x).probabilities[:, 1]
    near = x[np.abs(p - 0.5) < 1e-3][:400]
    y = predictor.predict_batch(near).labels
    with pytest.raises(PrecisionRefused, match=r"INFERWATCH_INFERENCE_PRECISION=int8 refused "
                       r"for churn v1: accuracy on the \d+-row holdout fell from 1\.0000 to"):
        reduce_precision(predictor, "int8", near, y, tolerance=0.0)


def test_full_precision_is_served_as_it_is(predictor: TorchPredictor) -> None:
    x, y = _holdout(predictor, 100)
    same, check = reduce_precision(predictor, "full", x, y)
    assert same is predictor and check.drop == 0.0


def test_half_needs_cuda_and_says_so(predictor: TorchPredictor) -> None:
    x, y = _holdout(predictor, 100)
    with pytest.raises(PrecisionRefused, match=r"=half needs a CUDA device.*'cpu'"):
        reduce_precision(predictor, "half", x, y)
    with pytest.raises(PrecisionRefused, match=r"=int8 .* CPU only.*'cuda'"):
        require_device("int8", "cuda")
    with pytest.raises(PrecisionRefused, match="must be one of"):
        require_device("fp8", "cpu")


def test_a_half_network_takes_half_inputs_and_answers_float(
        predictor: TorchPredictor) -> None:
    """The dtype path the CUDA half predictor runs, checked on CPU (float16 matmuls run
    there too, slowly): inputs cast to the network's dtype, probabilities back as float."""
    half = TorchPredictor(convert(predictor.module, "half"), META, "cpu")  # type: ignore[arg-type]
    assert half.module.mean.dtype == torch.float16
    x, _ = _holdout(predictor, 500)
    out, full = half.predict_batch(x), predictor.predict_batch(x)
    assert out.probabilities.dtype == full.probabilities.dtype
    np.testing.assert_allclose(out.probabilities, full.probabilities, atol=0.01)
    assert (out.labels == full.labels).mean() > 0.99


def test_the_setting_refuses_half_without_cuda_naming_the_field(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_INFERENCE_PRECISION", "half")
    monkeypatch.setenv("INFERWATCH_INFERENCE_DEVICE", "cpu")
    with pytest.raises(ValidationError, match=r"precision\n.*INFERWATCH_INFERENCE_PRECISION="
                       r"half needs a CUDA device"):
        InferenceSettings()
    monkeypatch.setenv("INFERWATCH_INFERENCE_PRECISION", "int4")
    with pytest.raises(ValidationError, match="precision"):
        InferenceSettings()
    monkeypatch.setenv("INFERWATCH_INFERENCE_PRECISION", "int8")
    assert InferenceSettings().precision == "int8"


def _publish(store: ModelStore, predictor: TorchPredictor, build: Path,
             holdout: tuple[np.ndarray, np.ndarray] | None) -> None:
    build.mkdir(parents=True)
    save_artifact(build / "model.pt", predictor.module, META)  # type: ignore[arg-type]
    if holdout is not None:
        np.savez(build / HOLDOUT_FILE, features=holdout[0], labels=holdout[1])
    store.publish("churn", "v1", build)


def test_the_catalog_serves_int8_after_the_check(predictor: TorchPredictor,
                                                 tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    holdout = _holdout(predictor, 2000)
    _publish(store, predictor, tmp_path / "build", holdout)
    features, labels = load_holdout(store.path_for("churn", "v1"))
    np.testing.assert_array_equal(features, holdout[0])
    np.testing.assert_array_equal(labels, holdout[1])
    served = ServedVersions(store, "cpu", precision="int8", tolerance=0.02).predictor("churn", "A")
    assert isinstance(served, TorchPredictor) and served.precision == "int8"


def test_the_catalog_serves_full_precision_without_a_holdout(
        predictor: TorchPredictor, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = ModelStore(tmp_path / "models")
    _publish(store, predictor, tmp_path / "build", None)
    with caplog.at_level(logging.ERROR, logger="inference.served_versions"):
        served = ServedVersions(store, "cpu", precision="int8").predictor("churn", "A")
    assert isinstance(served, TorchPredictor) and served.precision == "full"
    assert "no holdout at" in caplog.text and "at full precision" in caplog.text
