"""Labelled examples in time order, and the time-based splits a retrain cuts from them.

A :class:`TrainingSet` is what the retrain worker assembles from the joined, labelled
examples of a retrain event's data range: feature rows in the model's column order,
their labels, and (optionally) their segment labels and timestamps. Rows are kept in
the order they happened, so :meth:`TrainingSet.split_recent` holds out the most recent
rows, as the champion-versus-candidate validation needs: the candidate is judged on
traffic newer than anything it learned from.

Examples
--------
>>> import numpy as np
>>> rows = TrainingSet(np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1]), ("a", "b"))
>>> older, recent = rows.split_recent(0.4)
>>> len(older), len(recent), recent.features[:, 0].tolist()
(3, 2, [6.0, 8.0])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TrainingSet"]


@dataclass(frozen=True)
class TrainingSet:
    """Labelled feature rows, oldest first.

    Parameters
    ----------
    features
        ``(n, d)`` float rows, columns in ``feature_names`` order.
    labels
        ``(n,)`` integer class labels in ``0 .. n_classes - 1``.
    feature_names
        The column names; a fine-tune checks them against the champion's.
    segments
        One dict of segment labels per row (``{"region": "eu"}``), or empty.
    timestamps
        ``(n,)`` event times in seconds, non-decreasing, or None.
    """

    features: np.ndarray
    labels: np.ndarray
    feature_names: tuple[str, ...]
    segments: Sequence[Mapping[str, str]] = field(default_factory=tuple)
    timestamps: np.ndarray | None = None

    def __post_init__(self) -> None:
        x = np.asarray(self.features, dtype=np.float64)
        y = np.asarray(self.labels)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ValueError(
                f"TrainingSet.features must be (n, {len(self.feature_names)}) for "
                f"feature_names {self.feature_names}, got shape {x.shape}"
            )
        if y.shape != (len(x),) or (len(y) and not np.issubdtype(y.dtype, np.integer)):
            raise ValueError(
                f"TrainingSet.labels must be {len(x)} integers, got shape {y.shape} "
                f"of {y.dtype}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("TrainingSet.features holds NaN or infinite values")
        if self.segments and len(self.segments) != len(x):
            raise ValueError(
                f"TrainingSet.segments has {len(self.segments)} rows, features {len(x)}"
            )
        ts = self.timestamps
        if ts is not None:
            ts = np.asarray(ts, dtype=np.float64)
            if ts.shape != (len(x),) or np.any(np.diff(ts) < 0):
                raise ValueError(
                    f"TrainingSet.timestamps must be {len(x)} non-decreasing times (oldest "
                    "first)"
                )
        object.__setattr__(self, "features", x)
        object.__setattr__(self, "labels", y.astype(np.int64))
        object.__setattr__(self, "timestamps", ts)

    def __len__(self) -> int:
        return len(self.labels)

    def rows(self, index: slice | np.ndarray) -> TrainingSet:
        """The rows at ``index`` (a slice or a boolean or integer array), as a set."""
        picked = np.arange(len(self))[index]
        return TrainingSet(
            self.features[picked],
            self.labels[picked],
            self.feature_names,
            [self.segments[i] for i in picked] if self.segments else (),
            None if self.timestamps is None else self.timestamps[picked],
        )

    def split_recent(self, fraction: float) -> tuple[TrainingSet, TrainingSet]:
        """``(older, recent)``: the last ``fraction`` of the rows, at least one, held out."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
        n_recent = max(1, round(len(self) * fraction))
        if n_recent >= len(self):
            raise ValueError(
                f"a {fraction} split of {len(self)} rows leaves no older rows; need more rows"
            )
        cut = len(self) - n_recent
        return self.rows(slice(0, cut)), self.rows(slice(cut, None))

    def segment_masks(self, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Boolean masks of each declared segment value, named ``key=value``.

        ``keys`` limits the segment keys (default: every key seen in the rows).

        >>> import numpy as np
        >>> s = TrainingSet(np.zeros((3, 1)), np.array([0, 1, 1]), ("x",),
        ...                 [{"region": "eu"}, {"region": "us"}, {"region": "eu"}])
        >>> {k: v.tolist() for k, v in s.segment_masks().items()}
        {'region=eu': [True, False, True], 'region=us': [False, True, False]}
        """
        seen = sorted({k for row in self.segments for k in row}) if keys is None else keys
        masks: dict[str, np.ndarray] = {}
        for key in seen:
            values = np.array([row.get(key, "") for row in self.segments], dtype=object)
            for value in sorted(set(values.tolist()) - {""}):
                masks[f"{key}={value}"] = values == value
        return masks
