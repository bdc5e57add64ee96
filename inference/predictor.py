"""What a predictor is: a model version on a device that scores a batch of inputs.

Agents code against :class:`Predictor`; :class:`~inference.spec_predictor.SpecPredictor`
(any artifact kind, loaded by :func:`inference.loaders.load_version`) and its subclass
:class:`~inference.torch_predictor.TorchPredictor` (the demo MLP) are the torch
implementations, and a test may pass any object with the same shape.

Examples
--------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8]])
>>> out = PredictionBatch.from_probabilities(probs, inference_s=0.001)
>>> out.labels.tolist(), out.scores.tolist(), len(out)
([0, 1], [0.1, 0.8], 2)

A regression's batch carries its values, and its score is the value:

>>> reg = PredictionBatch.from_values(np.array([2.5, -1.0]), inference_s=0.001)
>>> reg.values.tolist(), reg.scores.tolist(), reg.labels.tolist(), reg.probabilities.shape
([2.5, -1.0], [2.5, -1.0], [0, 0], (2, 0))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from inference.model_inputs import ModelInputs
    from inference.model_spec import ModelSpec

__all__ = ["PredictionBatch", "Predictor"]


@dataclass(frozen=True)
class PredictionBatch:
    """The outputs of one forward pass, row-aligned with its input batch.

    Attributes
    ----------
    labels
        ``(n,)`` int64 predicted class (the arg-max of ``probabilities``); all 0 for a
        regression, which has no class.
    scores
        ``(n,)`` float64 probability of class 1 (the positive class); for a regression,
        the predicted value (so prediction drift watches the values).
    probabilities
        ``(n, k)`` float64 class probabilities; rows sum to 1. ``(n, 0)`` for a regression.
    inference_s
        Seconds the forward pass took, device transfers and synchronisation included.
    embeddings
        ``(n, e)`` float32 embedding of each input, when the model gives one (a
        transformers model's pooled hidden state): embedding drift watches it.
    values
        ``(n,)`` float64 predicted values of a regression; None for a classifier.
    """

    labels: np.ndarray
    scores: np.ndarray
    probabilities: np.ndarray
    inference_s: float
    embeddings: np.ndarray | None = None
    values: np.ndarray | None = None

    @classmethod
    def from_probabilities(cls, probabilities: np.ndarray, inference_s: float) -> PredictionBatch:
        """Build a batch from an ``(n, k)`` probability matrix (``k >= 2``)."""
        probs = np.asarray(probabilities, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] < 2:
            raise ValueError(f"probabilities must be (n, k >= 2), got shape {probs.shape}")
        return cls(
            labels=probs.argmax(axis=1).astype(np.int64),
            scores=probs[:, 1].copy(),
            probabilities=probs,
            inference_s=float(inference_s),
        )

    @classmethod
    def from_values(cls, values: np.ndarray, inference_s: float) -> PredictionBatch:
        """Build a regression's batch from its ``(n,)`` or ``(n, 1)`` predicted values."""
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim == 2 and vals.shape[1] == 1:
            vals = vals[:, 0]
        if vals.ndim != 1:
            raise ValueError(f"values must be (n,) or (n, 1), got shape {vals.shape}")
        n = len(vals)
        return cls(labels=np.zeros(n, dtype=np.int64), scores=vals.copy(),
                   probabilities=np.zeros((n, 0)), inference_s=float(inference_s),
                   values=vals)

    def __len__(self) -> int:
        return len(self.labels)


@runtime_checkable
class Predictor(Protocol):
    """A loaded model version that scores batches on one device.

    Attributes
    ----------
    spec
        The version's spec (``model.json``): its kind, task, inputs and classes.
    model
        The model's name, e.g. ``"churn"``.
    version
        The version being served, e.g. ``"v3"``.
    device
        Where the forward pass runs: ``"cuda"``, ``"cuda:1"`` or ``"cpu"``.
    features
        The numeric input names, in the column order ``predict_batch`` expects.
    """

    spec: ModelSpec
    model: str
    version: str
    device: str
    features: tuple[str, ...]

    def predict_batch(self, inputs: ModelInputs | np.ndarray) -> PredictionBatch:
        """Score a batch of inputs; a plain ``(n, d)`` float matrix is numeric inputs alone."""
        ...
