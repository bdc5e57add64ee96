"""Labelled examples for a retrain, and their time-based holdout.

The examples are predictions joined to their true labels: the features the model saw,
the label the world reported (a class index; for a regression, of ``kind`` ``value``, the
true value), and when the prediction was made. A candidate is validated
on the most recent of them (the holdout), since the most recent data are what it will
serve next; it trains on the older ones.

Examples
--------
>>> import numpy as np
>>> ex = LabelledExamples(np.array([3.0, 1.0, 2.0, 4.0]), np.arange(8.0).reshape(4, 2),
...                       np.array([1, 0, 1, 0]), ("f0", "f1"))
>>> train, holdout = ex.time_holdout(0.25)
>>> train.ts.tolist(), holdout.ts.tolist()
([1.0, 2.0, 3.0], [4.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["LabelledExamples"]


@dataclass(frozen=True)
class LabelledExamples:
    """Row-aligned examples: ``ts`` (n,), ``features`` (n, d) in ``names`` order, ``labels``
    (n,): int64 class indices, or float64 true values when ``kind`` is ``value``."""

    ts: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]
    kind: Literal["label", "value"] = "label"

    def __post_init__(self) -> None:
        n = len(self.ts)
        if self.features.shape != (n, len(self.names)) or self.labels.shape != (n,):
            raise ValueError(f"examples misaligned: ts {self.ts.shape}, features "
                             f"{self.features.shape}, labels {self.labels.shape}, "
                             f"{len(self.names)} feature names")
        if self.kind not in ("label", "value"):
            raise ValueError(f"kind must be 'label' or 'value', got {self.kind!r}")

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_rows(cls, rows: list[tuple[float, dict[str, float], float]],
                  names: tuple[str, ...], kind: Literal["label", "value"] = "label"
                  ) -> LabelledExamples:
        """Examples of ``(ts, features, label or value)`` rows; a row lacking a feature is
        dropped.

        >>> rows = [(1.0, {"x": 0.5}, 2.25), (2.0, {}, 1.0)]
        >>> LabelledExamples.from_rows(rows, ("x",), kind="value").labels.tolist()
        [2.25]
        """
        kept = [r for r in rows if all(k in r[1] for k in names)]
        return cls(np.array([r[0] for r in kept], dtype=np.float64),
                   np.array([[r[1][k] for k in names] for r in kept],
                            dtype=np.float64).reshape(len(kept), len(names)),
                   np.array([r[2] for r in kept],
                            dtype=np.float64 if kind == "value" else np.int64), names, kind)

    def take(self, idx: np.ndarray) -> LabelledExamples:
        return LabelledExamples(self.ts[idx], self.features[idx], self.labels[idx], self.names,
                                self.kind)

    def time_holdout(self, fraction: float) -> tuple[LabelledExamples, LabelledExamples]:
        """(older rows, the most recent ``fraction`` of rows), each in time order."""
        if not 0 < fraction < 1:
            raise ValueError(f"holdout fraction must be in (0, 1), got {fraction!r}")
        order = np.argsort(self.ts, kind="stable")
        n_hold = max(1, math.ceil(len(order) * fraction))
        if len(order) - n_hold < 1:
            raise ValueError(f"{len(order)} examples cannot be split into training rows and "
                             f"a holdout of {fraction:.0%}")
        return self.take(order[:-n_hold]), self.take(order[-n_hold:])
