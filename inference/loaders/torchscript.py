"""Kind ``torchscript``: a module saved with ``torch.jit.save`` (default ``model.ts``).

TorchScript's archive holds code and tensors, not pickled Python objects: loading it
runs no code of the file's choosing.
"""

from __future__ import annotations

from pathlib import Path

import torch

from inference.loaders.artifact import artifact_path, tensor_predictor, unreadable
from inference.model_spec import ModelSpec
from inference.spec_predictor import SpecPredictor

__all__ = ["load"]


def load(folder: Path, spec: ModelSpec, device: str | None) -> SpecPredictor:
    """The script module ``folder``'s spec names, in eval mode, served on ``device``."""
    path = artifact_path(folder, spec)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # any failure reads as a bad artifact
        raise unreadable(path, spec, exc) from exc
    return tensor_predictor(folder, spec, module.eval(), device)
