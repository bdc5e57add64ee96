"""What a predictor is: a model version on a device that scores a batch of feature rows.

Agents code against :class:`Predictor`; :class:`~inference.torch_predictor.TorchPredictor`
is the torch implementation, and a test may pass any object with the same shape.

Examples
--------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8]])
>>> out = PredictionBatch.from_probabilities(probs, inference_s=0.001)
>>> out.labels.tolist(), out.scores.tolist(), len(out)
([0, 1], [0.1, 0.8], 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["PredictionBatch", "Predictor"]


@dataclass(frozen=True)
class PredictionBatch:
    """The outputs of one forward pass, row-aligned with its input batch.

    Attributes
    ----------
    labels
        ``(n,)`` int64 predicted class (the arg-max of ``probabilities``).
    scores
        ``(n,)`` float64 probability of class 1 (the positive class).
    probabilities
        ``(n, k)`` float64 class probabilities; rows sum to 1.
    inference_s
        Seconds the forward pass took, device transfers and synchronisation included.
    embeddings
        ``(n, e)`` float32 embedding of each input, when the model gives one (a
        transformers model's pooled hidden state): embedding drift watches it.
    """

    labels: np.ndarray
    scores: np.ndarray
    probabilities: np.ndarray
    inference_s: float
    embeddings: np.ndarray | None = None

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

    def __len__(self) -> int:
        return len(self.labels)


@runtime_checkable
class Predictor(Protocol):
    """A loaded model version that scores batches on one device.

    Attributes
    ----------
    model
        The model's name, e.g. ``"churn"``.
    version
        The version being served, e.g. ``"v3"``.
    device
        Where the forward pass runs: ``"cuda"``, ``"cuda:1"`` or ``"cpu"``.
    features
        The input feature names, in the column order ``predict_batch`` expects.
    """

    model: str
    version: str
    device: str
    features: tuple[str, ...]

    def predict_batch(self, features: np.ndarray) -> PredictionBatch:
        """Score an ``(n, d)`` float matrix of feature rows."""
        ...
