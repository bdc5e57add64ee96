"""What accuracy estimation needs of a model version: its calibration and its accuracy.

Both come from the labelled reference holdout, when the version is trained: the isotonic
calibration of its probabilities (:func:`detectors.probability_calibration.fit_reference`)
and its accuracy there, the level a window's estimate is compared with. Saved beside the
model as ``performance_reference.json``.

Examples
--------
>>> ref = PerformanceReference.from_holdout("churn", "v1", [0.9, 0.2, 0.7, 0.4], [1, 0, 0, 0])
>>> ref.accuracy, ref.n, ref.chances([0.9]).tolist()
(0.75, 4, [1.0])
>>> PerformanceReference.from_json(ref.to_json()) == ref
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detectors.probability_calibration import IsotonicCalibration, correct_chance, fit_reference

__all__ = ["FILE_NAME", "PerformanceReference"]

#: File name of a model version's performance reference.
FILE_NAME = "performance_reference.json"


@dataclass(frozen=True)
class PerformanceReference:
    """A model version's probability calibration and reference accuracy."""

    model: str
    version: str
    calibration: IsotonicCalibration
    accuracy: float
    """Accuracy on the reference holdout."""
    n: int
    """Rows of the reference holdout."""

    @classmethod
    def from_holdout(cls, model: str, version: str, probabilities: Any,
                     labels: Any) -> PerformanceReference:
        """Fit on the holdout's probabilities (as ``correct_chance`` takes) and labels."""
        p = np.asarray(probabilities, dtype=float)
        y = np.asarray(labels).ravel()
        predicted = (p >= 0.5).astype(int) if p.ndim == 1 else p.argmax(axis=1)
        return cls(model, version, fit_reference(p, y), float((predicted == y).mean()),
                   int(y.size))

    def chances(self, probabilities: Any) -> np.ndarray:
        """Per row, the calibrated chance that the prediction is right."""
        return correct_chance(probabilities, self.calibration)

    def to_json(self) -> str:
        return json.dumps({"model": self.model, "version": self.version,
                           "calibration": self.calibration.to_dict(),
                           "accuracy": self.accuracy, "n": self.n})

    @classmethod
    def from_json(cls, text: str) -> PerformanceReference:
        raw = json.loads(text)
        return cls(raw["model"], raw["version"],
                   IsotonicCalibration.from_dict(raw["calibration"]), float(raw["accuracy"]),
                   int(raw["n"]))

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> PerformanceReference:
        """Read a saved reference; ValueError naming the file when it is not one."""
        try:
            return cls.from_json(Path(path).read_text())
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not a performance reference: {exc}") from None
