"""Serving at reduced precision: dynamic int8 on CPU, half on CUDA, each checked first.

A reduced-precision predictor is a copy of a full-precision one whose network has
been converted:

- ``int8``: ``torch.ao.quantization.quantize_dynamic`` on the ``Linear`` layers (weights
  stored as int8, activations quantised on the fly per batch); CPU only, where it pays;
- ``half``: the network's weights and buffers as float16; CUDA only (CPU float16 matmuls
  are slow or missing).

Before it serves, the copy scores the labelled holdout beside the full-precision model;
if its accuracy falls more than ``tolerance`` below, :class:`PrecisionRefused` says so,
with both figures, and the caller keeps full precision.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from inference.torch_requirement import torch_missing

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise torch_missing("inference.quantize") from exc

from inference.torch_predictor import TorchPredictor

__all__ = [
    "HOLDOUT_FILE",
    "PRECISIONS",
    "Precision",
    "PrecisionCheck",
    "PrecisionRefused",
    "load_holdout",
    "reduce_precision",
    "require_device",
]

Precision = Literal["full", "int8", "half"]
PRECISIONS: tuple[Precision, ...] = ("full", "int8", "half")
#: the setting that chooses the precision, named in errors
SETTING = "INFERWATCH_INFERENCE_PRECISION"
#: a model version's labelled holdout (``features``, ``labels``), saved by the trainer
HOLDOUT_FILE = "holdout.npz"


class PrecisionRefused(ValueError):
    """A reduced precision that cannot serve: wrong device, or too much accuracy lost."""


@dataclass(frozen=True)
class PrecisionCheck:
    """Accuracy on the holdout at full and at the reduced precision."""

    precision: Precision
    full_accuracy: float
    accuracy: float
    n: int
    """Holdout rows scored."""

    @property
    def drop(self) -> float:
        return self.full_accuracy - self.accuracy


def require_device(precision: str, device: str) -> None:
    """Raise :class:`PrecisionRefused`, naming the setting, if ``precision`` cannot run on
    ``device`` (``half`` needs CUDA; ``int8`` dynamic quantisation runs on CPU only).

    >>> require_device("int8", "cpu")
    >>> require_device("half", "cpu")
    Traceback (most recent call last):
    ...
    inference.quantize.PrecisionRefused: INFERWATCH_INFERENCE_PRECISION=half needs a CUDA \
device, but the model is served on 'cpu': use 'full' or 'int8' on CPU
    """
    if precision not in PRECISIONS:
        raise PrecisionRefused(f"{SETTING} must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision == "half" and not device.startswith("cuda"):
        raise PrecisionRefused(f"{SETTING}=half needs a CUDA device, but the model is served "
                               f"on {device!r}: use 'full' or 'int8' on CPU")
    if precision == "int8" and device != "cpu":
        raise PrecisionRefused(f"{SETTING}=int8 (dynamic quantisation) runs on CPU only, but "
                               f"the model is served on {device!r}: use 'half' or 'full'")


def load_holdout(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The features and labels of the holdout saved in a model version's ``folder``."""
    path = Path(folder) / HOLDOUT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no holdout at {path} to check a reduced precision against "
                                "(versions trained before holdouts were saved have none)")
    with np.load(path) as data:
        return data["features"], data["labels"]


def convert(module: nn.Module, precision: Precision) -> nn.Module:
    """A converted copy of ``module`` (``module`` itself is left as it is)."""
    if precision == "int8":
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(module).cpu(), {nn.Linear}, dtype=torch.qint8)
    if precision == "half":
        return copy.deepcopy(module).half()
    return module


def reduce_precision(predictor: TorchPredictor, precision: Precision, holdout: np.ndarray,
                     labels: np.ndarray, tolerance: float = 0.01
                     ) -> tuple[TorchPredictor, PrecisionCheck]:
    """``predictor`` at ``precision``, if its holdout accuracy holds within ``tolerance``.

    Returns the predictor to serve (``predictor`` itself for ``full``) and the check;
    raises :class:`PrecisionRefused` with both accuracies when the drop exceeds
    ``tolerance``, or when ``precision`` cannot run on the predictor's device.
    """
    require_device(precision, predictor.device)
    if not 0.0 <= tolerance <= 1.0:
        raise ValueError(f"tolerance must be in [0, 1], got {tolerance!r}")
    y = np.asarray(labels).ravel()
    if len(holdout) == 0 or len(holdout) != y.size:
        raise ValueError(f"need a non-empty holdout with one label a row, got {len(holdout)} "
                         f"rows and {y.size} labels")
    full = float((predictor.predict_batch(holdout).labels == y).mean())
    if precision == "full":
        return predictor, PrecisionCheck(precision, full, full, int(y.size))
    reduced = TorchPredictor(convert(predictor.module, precision),  # type: ignore[arg-type]
                             predictor.metadata, predictor.device, spec=predictor.spec)
    reduced.version = predictor.version
    reduced.precision = precision
    check = PrecisionCheck(precision, full,
                           float((reduced.predict_batch(holdout).labels == y).mean()),
                           int(y.size))
    if check.drop > tolerance:
        raise PrecisionRefused(
            f"{SETTING}={precision} refused for {predictor.model} {predictor.version}: "
            f"accuracy on the {check.n}-row holdout fell from {full:.4f} to "
            f"{check.accuracy:.4f}, more than the tolerance {tolerance}; serve 'full' or "
            "raise INFERWATCH_INFERENCE_PRECISION_TOLERANCE")
    return reduced, check
