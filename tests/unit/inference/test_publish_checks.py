"""The checks a model passes before it is published: each refusal names its cause."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec, SpecError
from inference.predictor import PredictionBatch
from inference.publish_checks import (
    BATCH_TOLERANCE,
    DEVICE_TOLERANCE,
    PublishRefused,
    check_model,
)

SPEC = ModelSpec.from_dict({"kind": "torchscript", "task": "binary", "classes": ["stay", "churn"],
                            "inputs": {"numeric": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}})


class ModulePredictor:
    """A torch module behind the predictor shape the checks read (softmax over logits)."""

    def __init__(self, module: nn.Module, device: str = "cpu", spec: ModelSpec = SPEC) -> None:
        self.module, self.device, self.spec = module, device, spec
        self.embeddings: np.ndarray | None = None

    def predict_batch(self, inputs: ModelInputs) -> PredictionBatch:
        with torch.no_grad():
            logits = self.module(torch.from_numpy(inputs.numeric))
        probs = torch.softmax(logits.double(), dim=1).numpy()
        return PredictionBatch(probs.argmax(1), probs[:, 1], probs, 0.0, self.embeddings)


def _sample(n: int = 32, seed: int = 0) -> ModelInputs:
    return ModelInputs.of_numeric(np.random.default_rng(seed).normal(size=(n, 3)))


def _linear(out: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, out)).eval()


class BatchCentred(nn.Module):
    """Subtracts the batch mean: a row's answer depends on the other rows."""

    def __init__(self) -> None:
        super().__init__()
        self.head = _linear()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x - x.mean(dim=0, keepdim=True))


def test_a_sound_model_passes() -> None:
    check_model(ModulePredictor(_linear()), _sample(), gpu=False)


def test_the_wrong_number_of_classes_is_refused_naming_both() -> None:
    with pytest.raises(PublishRefused) as info:
        check_model(ModulePredictor(_linear(out=3)), _sample(), gpu=False)
    assert "gives 3 output columns" in str(info.value)
    assert "declares 2 classes ['stay', 'churn']" in str(info.value)
    assert isinstance(info.value, SpecError)


def test_a_model_returning_nan_is_refused() -> None:
    class Nan(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = _linear()(x)
            out[3] = float("nan")  # one row of the sample, the fourth
            return out

    with pytest.raises(PublishRefused, match=r"output is NaN or infinite for 1 of 32 rows"
                                             r" \(the first: row 3\)"):
        check_model(ModulePredictor(Nan()), _sample(), gpu=False)


def test_a_non_finite_embedding_is_refused() -> None:
    predictor = ModulePredictor(_linear())
    predictor.embeddings = np.ones((32, 4), dtype=np.float32)
    predictor.embeddings[5, 2] = np.inf
    with pytest.raises(PublishRefused, match=r"embedding is NaN or infinite for 1 of 32"):
        check_model(predictor, _sample(), gpu=False)


def test_batch_norm_left_in_training_mode_is_refused() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Linear(8, 2)).train()
    with pytest.raises(PublishRefused) as info:
        check_model(ModulePredictor(model), _sample(), gpu=False)
    # torch refuses batch-norm statistics over one row: the batch of one fails
    assert "failed on a batch of one (row 0)" in str(info.value)
    assert "training mode" in str(info.value)


def test_answers_that_depend_on_the_batch_are_refused_with_the_gap() -> None:
    predictor, sample = ModulePredictor(BatchCentred()), _sample()
    batch = predictor.predict_batch(sample).probabilities[0]
    alone = predictor.predict_batch(sample.take([0])).probabilities[0]
    gap = float(np.abs(alone - batch).max())
    assert gap > BATCH_TOLERANCE
    with pytest.raises(PublishRefused) as info:
        check_model(predictor, sample, gpu=False)
    assert (f"answers row 0 differently alone and in a batch of 32 (probabilities differ by "
            f"{gap:.3g}, tolerance {BATCH_TOLERANCE:g})") in str(info.value)


def test_a_model_that_raises_is_refused_with_its_error() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(PublishRefused, match=r"failed on a batch of the reference data "
                                             r"\(32 rows\): RuntimeError: mat1 and mat2"):
        check_model(ModulePredictor(Broken()), _sample(), gpu=False)


def test_the_other_device_is_loaded_and_compared_when_a_gpu_is_present() -> None:
    asked: list[str] = []

    def load_on(device: str) -> ModulePredictor:
        asked.append(device)
        return ModulePredictor(_linear(), device)

    check_model(ModulePredictor(_linear(), "cpu"), _sample(), load_on=load_on, gpu=True)
    check_model(ModulePredictor(_linear(), "cuda:0"), _sample(), load_on=load_on, gpu=True)
    check_model(ModulePredictor(_linear(), "cpu"), _sample(), load_on=load_on, gpu=False)
    assert asked == ["cuda", "cpu"]


def test_answers_that_differ_across_devices_are_refused() -> None:
    sample = _sample()
    here, there = ModulePredictor(_linear(seed=0)), ModulePredictor(_linear(seed=1), "cuda")
    gap = np.abs(here.predict_batch(sample).probabilities
                 - there.predict_batch(sample).probabilities).max()
    assert gap > DEVICE_TOLERANCE
    with pytest.raises(PublishRefused) as info:
        check_model(here, sample, load_on=lambda device: there, gpu=True)
    assert (f"answers differently on cpu and on cuda (probabilities differ by up to "
            f"{gap:.3g}, tolerance {DEVICE_TOLERANCE:g})") in str(info.value)

    def no_cuda(device: str) -> ModulePredictor:
        raise RuntimeError("CUDA error: no kernel image is available")

    with pytest.raises(PublishRefused, match=r"does not load on cuda .*no kernel image"):
        check_model(here, sample, load_on=no_cuda, gpu=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_real_model_agrees_with_itself_on_cuda() -> None:
    model = _linear()

    def load_on(device: str) -> ModulePredictor:
        return _OnDevice(model, device)

    check_model(_OnDevice(model, "cpu"), _sample(256), load_on=load_on)


class _OnDevice(ModulePredictor):
    def __init__(self, module: nn.Module, device: str) -> None:
        super().__init__(copy.deepcopy(module).to(device), device)

    def predict_batch(self, inputs: ModelInputs) -> PredictionBatch:
        with torch.no_grad():
            logits = self.module(torch.from_numpy(inputs.numeric).to(self.device)).cpu()
        probs = torch.softmax(logits.double(), dim=1).numpy()
        return PredictionBatch(probs.argmax(1), probs[:, 1], probs, 0.0)


def test_a_sample_of_one_row_cannot_be_checked() -> None:
    with pytest.raises(PublishRefused, match="sample of 2 rows or more, got 1"):
        check_model(ModulePredictor(_linear()), _sample(1), gpu=False)
