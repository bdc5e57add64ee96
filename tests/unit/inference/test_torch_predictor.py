"""The torch predictor: device choice, outputs that agree with the network, timing."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.predictor import PredictionBatch, Predictor
from inference.torch_predictor import (
    StandardisedMLP,
    TorchPredictor,
    save_artifact,
    select_device,
)

META = {
    "model": "churn",
    "version": "v7",
    "features": ["a", "b", "c"],
    "mean": [1.0, -2.0, 10.0],
    "std": [2.0, 0.5, 4.0],
    "hidden": [4, 4],
    "n_classes": 2,
}


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    net = StandardisedMLP(META["mean"], META["std"], META["hidden"], 2)
    save_artifact(tmp_path / "model.pt", net, META)
    return tmp_path / "model.pt"


def test_device_is_cuda_when_present_else_cpu(artifact: Path) -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device() == expected
    predictor = TorchPredictor.load(artifact)
    assert predictor.device == expected
    assert isinstance(predictor, Predictor)
    assert (predictor.model, predictor.version) == ("churn", "v7")


def test_outputs_match_a_manual_forward_pass(artifact: Path) -> None:
    predictor = TorchPredictor.load(artifact, device="cpu")
    x = np.random.default_rng(0).normal(size=(64, 3)) * 3
    out = predictor.predict_batch(x)
    state = torch.load(artifact, weights_only=True)["state_dict"]
    h = (x - np.array(META["mean"])) / np.array(META["std"])
    for i in range(3):
        w = state[f"layers.{2 * i}.weight"].double().numpy()
        b = state[f"layers.{2 * i}.bias"].double().numpy()
        h = h @ w.T + b
        if i < 2:
            h = np.maximum(h, 0)
    expected = np.exp(h) / np.exp(h).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out.probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(out.labels, expected.argmax(axis=1))
    np.testing.assert_array_equal(out.scores, out.probabilities[:, 1])
    assert out.probabilities.dtype == np.float64 and len(out) == 64


def test_inference_time_comes_from_the_injected_timer(artifact: Path) -> None:
    ticks = itertools.count(start=0.0, step=0.25)
    predictor = TorchPredictor.load(artifact, device="cpu", warmup=False)
    predictor._timer = lambda: next(ticks)
    assert predictor.predict_batch(np.zeros((5, 3))).inference_s == 0.25


def test_empty_batch_and_wrong_width(artifact: Path) -> None:
    predictor = TorchPredictor.load(artifact, device="cpu")
    assert len(predictor.predict_batch(np.zeros((0, 3)))) == 0
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        predictor.predict_batch(np.zeros((4, 2)))


def test_not_an_artifact(tmp_path: Path) -> None:
    torch.save({"weights": torch.zeros(1)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="not an inferwatch model artifact"):
        TorchPredictor.load(tmp_path)


def test_asking_for_cuda_without_one_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device() == "cpu"
    with pytest.raises(ValueError, match="no CUDA device"):
        select_device("cuda")


def test_prediction_batch_rejects_a_vector() -> None:
    with pytest.raises(ValueError, match="n, k >= 2"):
        PredictionBatch.from_probabilities(np.array([0.5, 0.5]), 0.0)


def test_use_cpu_threads_sets_torchs_threads_and_refuses_zero() -> None:
    from inference.torch_predictor import use_cpu_threads
    before = torch.get_num_threads()
    try:
        use_cpu_threads(1)
        assert torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="threads must be >= 1"):
            use_cpu_threads(0)
    finally:
        torch.set_num_threads(before)
