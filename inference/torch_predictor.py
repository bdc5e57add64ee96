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
feature rows. A version folder holding ``model.pt`` alone (every release before specs)
is served as kind ``mlp`` with the spec :func:`mlp_spec` reads from that metadata; a
``model.json`` of kind ``mlp`` beside it names the classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inference.model_spec import ModelSpec, NumericInput, SpecError
from inference.spec_predictor import SpecPredictor, TensorCall, select_device
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
    "mlp_spec",
    "save_artifact",
    "select_device",
    "use_cpu_threads",
]

ARTIFACT_FORMAT = 1


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


def mlp_spec(metadata: dict[str, Any], classes: Sequence[str] | None = None) -> ModelSpec:
    """The spec of an MLP artifact: its features as numeric inputs, a binary task for two
    classes (multiclass for more); the classes are ``classes``, else the metadata's
    ``classes``, else named by their index.

    Examples
    --------
    >>> spec = mlp_spec({"features": ["a", "b"], "n_classes": 2})
    >>> spec.kind, spec.task, spec.feature_names, spec.classes
    ('mlp', 'binary', ('a', 'b'), ('0', '1'))
    """
    n_classes = int(metadata["n_classes"])
    if classes is None:
        classes = metadata.get("classes") or [str(i) for i in range(n_classes)]
    names = tuple(str(c) for c in classes)
    return ModelSpec(kind="mlp", task="binary" if n_classes == 2 else "multiclass",
                     numeric=tuple(NumericInput(str(f)) for f in metadata["features"]),
                     classes=names, artifact="model.pt")


class TorchPredictor(SpecPredictor):
    """The demo's standardising MLP served on one device: the ``mlp`` artifact kind.

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
    spec
        The version's spec; None: :func:`mlp_spec` of ``metadata``.
    """

    def __init__(
        self,
        module: StandardisedMLP,
        metadata: dict[str, Any],
        device: str | None = None,
        timer: Callable[[], float] = time.perf_counter,
        spec: ModelSpec | None = None,
    ) -> None:
        # a half-precision network takes half inputs (an int8 one keeps float32 buffers)
        call = TensorCall(module.eval(), categorical=False, dtype=module.mean.dtype)
        super().__init__(spec if spec is not None else mlp_spec(metadata), call,
                         model=metadata["model"], version=metadata["version"],
                         device=device, timer=timer)
        self.metadata = metadata
        #: "full", or the reduced precision :mod:`inference.quantize` converted it to
        self.precision = "full"

    @classmethod
    def load(cls, path: Path, device: str | None = None, *, warmup: bool = True,
             spec: ModelSpec | None = None) -> TorchPredictor:
        """Load ``model.pt`` (or the directory holding it) onto ``device``.

        ``warmup`` runs one small batch first, so CUDA start-up is not billed to the
        first real batch. ``spec`` (a ``model.json`` of kind ``mlp``) must name the
        artifact's features, in its order, and as many classes as it has.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "model.pt"
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("format") != ARTIFACT_FORMAT:
            raise ValueError(
                f"{path} is not an inferwatch model artifact of format {ARTIFACT_FORMAT}"
            )
        metadata = blob["metadata"]
        if spec is not None:
            _check_spec(path, spec, metadata)
        module = build_classifier(metadata)
        module.load_state_dict(blob["state_dict"])
        predictor = cls(module, metadata, device, spec=spec)
        if warmup:
            predictor.warm_up()
        return predictor

    def __repr__(self) -> str:
        return (
            f"TorchPredictor(model={self.model!r}, version={self.version!r}, "
            f"device={self.device!r}, precision={self.precision!r})"
        )


def _check_spec(path: Path, spec: ModelSpec, metadata: dict[str, Any]) -> None:
    """SpecError unless ``spec`` reads the artifact's features and classes."""
    features = tuple(metadata["features"])
    if spec.feature_names != features or spec.categorical or spec.text is not None:
        raise SpecError(f"{path}: the spec's inputs must be the artifact's numeric features "
                        f"{list(features)}, got numeric {list(spec.feature_names)}, "
                        f"categorical {list(spec.categorical_names)}"
                        f"{', text' if spec.text is not None else ''}")
    if spec.n_outputs != int(metadata["n_classes"]):
        raise SpecError(f"{path}: the spec declares {spec.n_outputs} classes "
                        f"{list(spec.classes)}, the artifact has {metadata['n_classes']}")
