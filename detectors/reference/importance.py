"""How much a model version relies on each input: permutation importance on its reference.

Computed once, where a version is published, on the reference rows it was checked on:
:func:`permutation_importance` shuffles one column at a time and measures how much the
loss grows (Breiman 2001; model-agnostic: it needs only a ``predict`` callable). With
labels, the loss is against them; without, against the model's own predictions on the
intact rows, so the importance is how often (or how far) the model's answer changes:
its reliance on the feature. Saved beside the model as ``reference_importance.json``
(:class:`ReferenceImportance`), read by the cause ranking (:mod:`detectors.cause_ranking`).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 2))
>>> y = (X[:, 0] > 0).astype(int)
>>> predict = lambda X: 1 / (1 + np.exp(-4 * X[:, 0]))   # uses feature 0 only
>>> imp = permutation_importance(predict, X, y, np.random.default_rng(1))
>>> bool(imp[0] > 0.3), float(imp[1])
(True, 0.0)
>>> ref = ReferenceImportance("churn", "v1", ("a", "b"), tuple(imp.tolist()), "error_rate", 500)
>>> ReferenceImportance.from_json(ref.to_json()) == ref
True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detectors.reference.file_write import write_atomically

__all__ = ["FILE_NAME", "LOSSES", "ReferenceImportance", "error_rate", "permutation_importance",
           "squared_error", "write_importance"]

#: File name of a model version's reference importance.
FILE_NAME = "reference_importance.json"

Predict = Callable[[np.ndarray], np.ndarray]
Loss = Callable[[np.ndarray, np.ndarray], float]


def _classes(pred: np.ndarray) -> np.ndarray:
    """Predicted classes of scores (1-D: ``p >= 0.5``) or of class probabilities (argmax)."""
    return (pred >= 0.5).astype(int) if pred.ndim == 1 else pred.argmax(axis=1)


def error_rate(pred: np.ndarray, target: np.ndarray) -> float:
    """Share of rows whose predicted class is not ``target``'s (a class, or scores)."""
    target = _classes(target) if target.dtype.kind == "f" else target
    return float((_classes(pred) != target.ravel()).mean())


def squared_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared difference (regression, or scores)."""
    return float(np.mean((np.asarray(pred, float) - np.asarray(target, float)) ** 2))


LOSSES: dict[str, Loss] = {"error_rate": error_rate, "squared_error": squared_error}


def permutation_importance(predict: Predict, X: np.ndarray, y: np.ndarray | None,
                           rng: np.random.Generator, *, loss: str = "error_rate",
                           repeats: int = 5) -> np.ndarray:
    """Per column of ``X``, the mean growth of ``loss`` when that column is shuffled.

    Parameters
    ----------
    predict
        The model: rows in, one score per row (or one probability per class) out.
    X
        The reference rows, (n, d).
    y
        Their labels; None: the model's own predictions on ``X`` stand for them.
    rng
        Seeded generator of the shuffles.
    loss
        A name in :data:`LOSSES`: ``error_rate`` (classifiers) or ``squared_error``.
    repeats
        Shuffles per column, averaged.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if not (isinstance(repeats, int) and repeats >= 1):
        raise ValueError(f"repeats must be an integer in [1, inf), got {repeats!r}")
    X = np.asarray(X)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"X must be a matrix of at least 2 rows, got shape {X.shape}")
    measure = LOSSES[loss]
    base_pred = np.asarray(predict(X))
    target = base_pred if y is None else np.asarray(y)
    base = measure(base_pred, target)
    out = np.zeros(X.shape[1])
    for j in range(X.shape[1]):
        shuffled = X.copy()
        for _ in range(repeats):
            shuffled[:, j] = X[rng.permutation(len(X)), j]
            out[j] += measure(np.asarray(predict(shuffled)), target) - base
    return out / repeats


@dataclass(frozen=True)
class ReferenceImportance:
    """A model version's permutation importance per feature, and how it was measured."""

    model: str
    version: str
    names: tuple[str, ...]
    importance: tuple[float, ...]
    #: the loss whose growth ``importance`` measures (a name in :data:`LOSSES`)
    loss: str
    #: reference rows it was measured on
    n: int

    def of(self, feature: str) -> float | None:
        """The importance of ``feature`` (None: not measured)."""
        return dict(zip(self.names, self.importance, strict=True)).get(feature)

    def to_json(self) -> str:
        return json.dumps({"model": self.model, "version": self.version,
                           "importance": dict(zip(self.names, self.importance, strict=True)),
                           "loss": self.loss, "n": self.n})

    @classmethod
    def from_json(cls, text: str) -> ReferenceImportance:
        raw = json.loads(text)
        names = tuple(str(k) for k in raw["importance"])
        values = tuple(float(raw["importance"][k]) for k in names)
        if raw["loss"] not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {raw['loss']!r}")
        return cls(str(raw["model"]), str(raw["version"]), names, values, raw["loss"],
                   int(raw["n"]))

    def save(self, folder: Path) -> Path:
        """Write ``folder/reference_importance.json`` atomically; returns its path."""
        path = Path(folder) / FILE_NAME
        write_atomically(path, self.to_json())
        return path

    @classmethod
    def load(cls, folder: Path) -> ReferenceImportance | None:
        """Read ``folder``'s file (None when there is none; ValueError naming it if bad)."""
        path = Path(folder) / FILE_NAME
        if not path.exists():
            return None
        try:
            return cls.from_json(path.read_text())
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not a reference importance: {exc}") from None


def write_importance(folder: Path, model: str, version: str, names: tuple[str, ...],
                     predict: Predict, X: np.ndarray, y: np.ndarray | None,
                     rng: np.random.Generator, *, loss: str = "error_rate") -> Path:
    """Measure the permutation importance of ``names`` and save it in ``folder``: the one
    call a publish (or train) path makes."""
    if len(names) != np.asarray(X).shape[1]:
        raise ValueError(f"names must name each of X's {np.asarray(X).shape[1]} columns, "
                         f"got {len(names)}")
    values = permutation_importance(predict, X, y, rng, loss=loss)
    return ReferenceImportance(model, version, tuple(names), tuple(float(v) for v in values),
                               loss, len(X)).save(folder)
