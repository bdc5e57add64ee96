"""What a regression's error monitoring needs of a model version: its errors on the
holdout.

The MAE, RMSE and bias (predicted minus true) of the version on its labelled publish
holdout, the level each window's errors are compared with. Saved beside the model as
``error_reference.json``.

Examples
--------
>>> ref = ErrorReference.from_holdout("price", "v1", [1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
>>> ref.mae, round(ref.rmse, 4), round(ref.bias, 4), ref.n
(0.5, 0.6455, 0.1667, 3)
>>> ErrorReference.from_json(ref.to_json()) == ref
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

__all__ = ["FILE_NAME", "ErrorReference"]

#: File name of a regression version's error reference.
FILE_NAME: Final = "error_reference.json"


@dataclass(frozen=True)
class ErrorReference:
    """A regression version's MAE, RMSE and bias on its holdout of ``n`` rows."""

    model: str
    version: str
    mae: float
    rmse: float
    bias: float
    n: int

    @classmethod
    def from_holdout(cls, model: str, version: str, predicted: Any,
                     truth: Any) -> ErrorReference:
        """The errors of ``predicted`` against ``truth`` (equal lengths, at least one)."""
        error = np.asarray(predicted, dtype=float).ravel() - np.asarray(truth, dtype=float).ravel()
        if not error.size or not np.isfinite(error).all():
            raise ValueError("an error reference needs at least one finite error")
        return cls(model, version, float(np.abs(error).mean()),
                   float(np.sqrt((error ** 2).mean())), float(error.mean()),
                   int(error.size))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ErrorReference:
        raw = json.loads(text)
        return cls(str(raw["model"]), str(raw["version"]), float(raw["mae"]),
                   float(raw["rmse"]), float(raw["bias"]), int(raw["n"]))

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> ErrorReference:
        """Read a saved reference; ValueError naming the file when it is not one."""
        try:
            return cls.from_json(Path(path).read_text())
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not an error reference: {exc}") from None
