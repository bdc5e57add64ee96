"""What the loaders share: the artifact's path, the inputs a kind can take, the predictor
of a model called over tensors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference.model_spec import SPEC_FILE, ModelSpec, SpecError
from inference.spec_predictor import SpecPredictor, TensorCall

__all__ = ["artifact_path", "tensor_predictor", "unreadable"]


def artifact_path(folder: Path, spec: ModelSpec) -> Path:
    """The artifact ``spec`` names inside ``folder``; SpecError when it is not there."""
    path = folder / spec.artifact
    if not path.exists():
        raise SpecError(f"{folder / SPEC_FILE}: artifact {spec.artifact!r} is missing: kind "
                        f"{spec.kind} loads {path}, which does not exist")
    return path


def unreadable(path: Path, spec: ModelSpec, exc: BaseException) -> SpecError:
    """The error of an artifact that is there but does not load (corrupt, another format)."""
    return SpecError(f"{path} is not a loadable {spec.kind} artifact "
                     f"({type(exc).__name__}: {exc})")


def tensor_predictor(folder: Path, spec: ModelSpec, module: Callable[..., Any],
                     device: str | None) -> SpecPredictor:
    """The predictor of ``module``, called over tensors (``model(numeric)``, or
    ``model(numeric, categorical)``), named by its folder (``<model>/<version>``).

    SpecError when the spec has a text input: only kind ``transformers`` tokenises.
    """
    if spec.text is not None:
        raise SpecError(f"{folder / SPEC_FILE}: kind {spec.kind} is called over tensors and "
                        f"takes no text input ({spec.text.name!r}); serve a text model as "
                        "kind transformers")
    return SpecPredictor(spec, TensorCall(module, categorical=bool(spec.categorical)),
                         model=folder.parent.name, version=folder.name, device=device)
