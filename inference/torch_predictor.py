"""The torch predictor: a standardising MLP classifier, its artifact, and batch inference.

This is one of the two modules that import torch (the trainer is the other, and builds
its network with :func:`build_classifier` so the architecture lives in one place).

The artifact ``model.pt`` is a dict of tensors and plain values, read with
``torch.load(weights_only=True)`` so loading a file never runs code::

    {"format": 1,
     "metadata": {"model": str, "version": str, "features": [str], "mean": [float],
                  "std": [float], "hidden": [int], "n_classes": int},
     "state_dict": {...}}

The input mean and std are also buffers of the network, so a forward pass takes raw
feature rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.predictor import PredictionBatch
from inference.torch_requirement import torch_missing

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise torch_missing("inference.torch_predictor") from exc

__all__ = [
    "ARTIFACT_FORMAT",
    "StandardisedMLP",
    "TorchPredictor",
    "build_classifier",
    "save_artifact",
    "select_device",
    "use_cpu_threads",
]

ARTIFACT_FORMAT = 1


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


def use_cpu_threads(threads: int) -> None:
    """Run torch's CPU kernels on ``threads`` threads (process-wide).

    The hot path's batches are small (``max_batch`` rows of a few features): splitting
    one forward pass over threads costs more in hand-offs than it gains, and on a busy
    machine the waiting threads spin on cores the worker's other loops need (a 256-row
    batch of the demo MLP: 66 µs a row on 2 threads beside other work, 3 µs on one).
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class StandardisedMLP(nn.Module):
    """An MLP on standardised inputs: ``(x - mean) / std`` → hidden ReLU layers → logits."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, mean: Sequence[float], std: Sequence[float], hidden: Sequence[int], n_classes: int
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32))
        layers: list[nn.Module] = []
        width = len(mean)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the ``(n, d)`` raw feature batch ``x``."""
        return self.layers((x - self.mean) / self.std)


def build_classifier(metadata: dict[str, Any]) -> StandardisedMLP:
    """A fresh network with the shape that artifact ``metadata`` describes."""
    return StandardisedMLP(
        metadata["mean"], metadata["std"], metadata["hidden"], metadata["n_classes"]
    )


def save_artifact(path: Path, module: StandardisedMLP, metadata: dict[str, Any]) -> None:
    """Write ``module``'s weights and ``metadata`` to ``path`` (see the module docstring)."""
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    torch.save({"format": ARTIFACT_FORMAT, "metadata": metadata, "state_dict": state}, path)


class TorchPredictor:
    """A torch classifier served on one device, scoring numpy batches.

    Parameters
    ----------
    module
        The network; moved to ``device`` and set to eval mode.
    metadata
        The artifact metadata (model, version, features, ...).
    device
        ``"cuda"``, ``"cuda:N"`` or ``"cpu"``; None picks with :func:`select_device`.
    timer
        Monotonic clock in seconds for ``inference_s``.
    """

    def __init__(
        self,
        module: StandardisedMLP,
        metadata: dict[str, Any],
        device: str | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.metadata = metadata
        self.model: str = metadata["model"]
        self.version: str = metadata["version"]
        self.features: tuple[str, ...] = tuple(metadata["features"])
        self.device: str = select_device(device)
        self._torch_device = torch.device(self.device)
        self._cuda = self._torch_device.type == "cuda"
        self._timer = timer
        self.module = module.to(self._torch_device).eval()
        #: "full", or the reduced precision :mod:`inference.quantize` converted it to
        self.precision = "full"
        # a half-precision network takes half inputs (an int8 one keeps float32 buffers)
        self._dtype = self.module.mean.dtype

    @classmethod
    def load(cls, path: Path, device: str | None = None, *, warmup: bool = True) -> TorchPredictor:
        """Load ``model.pt`` (or the directory holding it) onto ``device``.

        ``warmup`` runs one small batch first, so CUDA start-up is not billed to the
        first real batch.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "model.pt"
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("format") != ARTIFACT_FORMAT:
            raise ValueError(
                f"{path} is not an inferwatch model artifact of format {ARTIFACT_FORMAT}"
            )
        module = build_classifier(blob["metadata"])
        module.load_state_dict(blob["state_dict"])
        predictor = cls(module, blob["metadata"], device)
        if warmup:
            predictor.predict_batch(np.zeros((2, len(predictor.features))))
        return predictor

    def predict_batch(self, features: np.ndarray) -> PredictionBatch:
        """Score the ``(n, d)`` feature rows (columns in ``self.features`` order)."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(
                f"features must be (n, {len(self.features)}) in the order "
                f"{self.features}, got shape {x.shape}"
            )
        batch = torch.from_numpy(x)
        if self._cuda:
            batch = batch.pin_memory()
            torch.cuda.synchronize(self._torch_device)
        start = self._timer()
        with torch.inference_mode():
            batch = batch.to(self._torch_device, dtype=self._dtype, non_blocking=self._cuda)
            probs = torch.softmax(self.module(batch).float(), dim=1)
            if self._cuda:
                torch.cuda.synchronize(self._torch_device)
            out = probs.cpu().numpy()
        elapsed = self._timer() - start
        return PredictionBatch.from_probabilities(out, elapsed)

    def __repr__(self) -> str:
        return (
            f"TorchPredictor(model={self.model!r}, version={self.version!r}, "
            f"device={self.device!r}, precision={self.precision!r})"
        )
