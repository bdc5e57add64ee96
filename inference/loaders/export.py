"""Kind ``export``: a program saved with ``torch.export.save`` (default ``model.pt2``).

The program is served as ``torch.export.load(path).module()``. It runs in the mode it was
exported in (an exported module has no ``eval()``), and its batch dimension must have been
exported as dynamic (``torch.export.Dim.DYNAMIC``) for batches of any size to run.
"""

from __future__ import annotations

from pathlib import Path

import torch

from inference.loaders.artifact import artifact_path, tensor_predictor, unreadable
from inference.model_spec import ModelSpec
from inference.spec_predictor import SpecPredictor

__all__ = ["load"]


def load(folder: Path, spec: ModelSpec, device: str | None) -> SpecPredictor:
    """The exported program ``folder``'s spec names, as a module served on ``device``."""
    path = artifact_path(folder, spec)
    try:
        module = torch.export.load(str(path)).module()
    except Exception as exc:  # any failure reads as a bad artifact
        raise unreadable(path, spec, exc) from exc
    return tensor_predictor(folder, spec, module, device)
