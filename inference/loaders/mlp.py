"""Kind ``mlp``: the project's standardising MLP (``model.pt``,
:mod:`inference.torch_predictor`), read with ``torch.load(weights_only=True)``.

A folder holding ``model.pt`` and no ``model.json`` (every release before specs) is this
kind, with the spec its metadata gives (:func:`~inference.torch_predictor.mlp_spec`).
"""

from __future__ import annotations

from pathlib import Path

from inference.loaders.artifact import artifact_path
from inference.model_spec import ModelSpec
from inference.torch_predictor import TorchPredictor

__all__ = ["load"]


def load(folder: Path, spec: ModelSpec | None, device: str | None) -> TorchPredictor:
    """The MLP of ``folder`` (``spec`` None: a folder of a release before specs)."""
    path = folder / "model.pt" if spec is None else artifact_path(folder, spec)
    return TorchPredictor.load(path, device, warmup=False, spec=spec)
