"""A model version served by its spec: inputs in, the spec's outputs out, on one device.

:class:`SpecPredictor` is what :func:`inference.loaders.load_version` returns for every
artifact kind. It owns what all kinds share: checking a batch against the spec, the
device (cuda when present), the timing of the forward pass (device transfers and a cuda
synchronisation included, as :class:`~inference.torch_predictor.TorchPredictor` always
did) and turning the model's output into a
:class:`~inference.predictor.PredictionBatch` as the spec says (softmax over logits,
probabilities as given, a regression's values). How a kind turns inputs into tensors
and calls its model is its :class:`ModelCall`: :class:`TensorCall` for the kinds called
over tensors (the forward-call convention of :mod:`inference.loaders`),
:class:`~inference.loaders.hugging_face.TextCall` for a transformers model.

Preparing the tensors (``np`` to torch, tokenising) happens before the clock starts:
``inference_s`` is the forward pass, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from inference.predictor import PredictionBatch
from inference.torch_requirement import torch_missing

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise torch_missing("inference.spec_predictor") from exc

__all__ = ["ModelCall", "SpecPredictor", "TensorCall", "select_device"]

Tensors = dict[str, "torch.Tensor"]


def select_device(device: str | None = None) -> str:
    """The device to serve on: ``device`` if given, else ``"cuda"`` when present, else CPU.

    Examples
    --------
    >>> select_device("cpu")
    'cpu'
    """
    if device is not None:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but torch sees no CUDA device")
        return str(torch.device(device))
    return "cuda" if torch.cuda.is_available() else "cpu"


class ModelCall(Protocol):
    """How one artifact kind calls its model: CPU tensors from inputs, then the forward.

    ``module`` is what was loaded (an ``nn.Module`` or a callable), ``to`` moves it to a
    device, ``prepare`` builds the CPU tensors of a batch, and ``run`` (given them on the
    device, under ``inference_mode``) returns the model's outputs and its embeddings (None
    when the kind gives none).
    """

    module: Any

    def to(self, device: torch.device) -> None: ...

    def prepare(self, inputs: ModelInputs) -> Tensors: ...

    def run(self, tensors: Tensors) -> tuple[torch.Tensor, torch.Tensor | None]: ...


class TensorCall:
    """The call over tensors: ``module(numeric)``, or ``module(numeric, categorical)`` when
    the spec has categorical inputs (``(n, d)`` float32, ``(n, c)`` int64 codes).

    ``dtype`` is the numeric input's on the device (a half-precision network takes half).
    """

    def __init__(self, module: Callable[..., Any], categorical: bool,
                 dtype: torch.dtype = torch.float32) -> None:
        self.module = module
        self.categorical = categorical
        self.dtype = dtype

    def to(self, device: torch.device) -> None:
        if isinstance(self.module, nn.Module):
            self.module = self.module.to(device)

    def prepare(self, inputs: ModelInputs) -> Tensors:
        tensors = {"numeric": torch.from_numpy(np.ascontiguousarray(inputs.numeric,
                                                                    dtype=np.float32))}
        if self.categorical:
            tensors["categorical"] = torch.from_numpy(
                np.ascontiguousarray(inputs.categorical, dtype=np.int64))
        return tensors

    def run(self, tensors: Tensors) -> tuple[torch.Tensor, torch.Tensor | None]:
        numeric = tensors["numeric"].to(self.dtype)
        if self.categorical:
            return self.module(numeric, tensors["categorical"]), None
        return self.module(numeric), None


class SpecPredictor:
    """A model version on one device, scoring :class:`ModelInputs` as its spec says.

    Parameters
    ----------
    spec
        The version's spec.
    call
        How the artifact's model is called (:class:`ModelCall`); moved to ``device``.
    model, version
        The model's name and the version's (the registry's folder names).
    device
        ``"cuda"``, ``"cuda:N"`` or ``"cpu"``; None picks with :func:`select_device`.
    timer
        Monotonic clock in seconds for ``inference_s``.
    """

    def __init__(self, spec: ModelSpec, call: ModelCall, *, model: str, version: str,
                 device: str | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.spec = spec
        self.model = model
        self.version = version
        self.features: tuple[str, ...] = spec.feature_names
        self.device: str = select_device(device)
        self._torch_device = torch.device(self.device)
        self._cuda = self._torch_device.type == "cuda"
        self._timer = timer
        self.call = call
        call.to(self._torch_device)

    @property
    def module(self) -> Any:
        """The loaded model (an ``nn.Module``, a script or exported module, a callable)."""
        return self.call.module

    def warm_up(self) -> None:
        """Score a batch of two placeholder rows, so start-up (CUDA's, a script's first
        optimisation pass) is not billed to the first real batch, and a model that does
        not fit its spec fails at load rather than at its first request."""
        text = None if self.spec.text is None else [self.spec.text.default or "warm-up"] * 2
        self.predict_batch(ModelInputs(np.zeros((2, len(self.spec.numeric)), np.float32),
                                       np.zeros((2, len(self.spec.categorical)), np.int64),
                                       text))

    def predict_batch(self, inputs: ModelInputs | np.ndarray) -> PredictionBatch:
        """Score a batch; a plain ``(n, d)`` array is numeric inputs alone (columns in
        ``self.features`` order)."""
        batch = self._checked(inputs)
        if len(batch) == 0:
            return self._batch(np.zeros((0, self.spec.n_outputs), np.float32), None, 0.0)
        tensors = self.call.prepare(batch)
        if self._cuda:
            tensors = {k: t.pin_memory() for k, t in tensors.items()}
            torch.cuda.synchronize(self._torch_device)
        start = self._timer()
        with torch.inference_mode():
            moved = {k: t.to(self._torch_device, non_blocking=self._cuda)
                     for k, t in tensors.items()}
            out, embedded = self.call.run(moved)
            out = self._outputs(out, len(batch))
            if self._cuda:
                torch.cuda.synchronize(self._torch_device)
            result = out.cpu().numpy()
            embeddings = None if embedded is None else embedded.float().cpu().numpy()
        return self._batch(result, embeddings, self._timer() - start)

    def _checked(self, inputs: ModelInputs | np.ndarray) -> ModelInputs:
        """``inputs`` as ModelInputs, after checking their shapes against the spec."""
        spec = self.spec
        if not isinstance(inputs, ModelInputs):
            x = np.ascontiguousarray(inputs, dtype=np.float32)
            if spec.categorical or spec.text is not None:
                raise ValueError(f"{self.model} {self.version} takes categorical or text "
                                 "inputs: pass ModelInputs, not a numeric array")
            if x.ndim != 2 or x.shape[1] != len(self.features):
                raise ValueError(f"features must be (n, {len(self.features)}) in the order "
                                 f"{self.features}, got shape {x.shape}")
            return ModelInputs.of_numeric(x)
        n = len(inputs)
        if inputs.numeric.shape != (n, len(spec.numeric)):
            raise ValueError(f"numeric inputs must be (n, {len(spec.numeric)}) in the order "
                             f"{self.features}, got shape {inputs.numeric.shape}")
        if inputs.categorical.shape != (n, len(spec.categorical)):
            raise ValueError(f"categorical inputs must be (n, {len(spec.categorical)}) codes "
                             f"of {spec.categorical_names}, got shape "
                             f"{inputs.categorical.shape}")
        if spec.text is not None and (inputs.text is None or len(inputs.text) != n):
            raise ValueError(f"text inputs must be {n} texts for {spec.text.name!r}, got "
                             f"{None if inputs.text is None else len(inputs.text)}")
        return inputs

    def _outputs(self, out: Any, n: int) -> torch.Tensor:
        """The model's output as the spec's rows: probabilities, or a regression's values."""
        spec = self.spec
        k = spec.n_outputs
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        if spec.task == "regression":
            if shape not in ((n,), (n, 1)):
                raise ValueError(f"{self.model} {self.version} returned {shape}; a regression "
                                 f"must return ({n},) or ({n}, 1) values")
            return out.float().reshape(n)
        if shape != (n, k):
            raise ValueError(f"{self.model} {self.version} returned {shape}; its spec "
                             f"declares {k} classes {list(spec.classes)}, so it must return "
                             f"({n}, {k}) {spec.outputs}")
        out = out.float()
        return torch.softmax(out, dim=1) if spec.outputs == "logits" else out

    def _batch(self, result: np.ndarray, embeddings: np.ndarray | None,
               elapsed: float) -> PredictionBatch:
        if self.spec.task == "regression":
            batch = PredictionBatch.from_values(result.reshape(-1), elapsed)
        else:
            batch = PredictionBatch.from_probabilities(result, elapsed)
        if embeddings is None:
            return batch
        return PredictionBatch(batch.labels, batch.scores, batch.probabilities,
                               batch.inference_s, embeddings, batch.values)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model={self.model!r}, version={self.version!r}, "
                f"kind={self.spec.kind!r}, device={self.device!r})")
