"""The reference profile of a model's inputs: per-feature decile bins and their counts.

Drift detectors compare live traffic with the data a model was trained on. The profile
keeps what they need and no more: for each feature the interior cut points at the
reference deciles (9 edges, so 10 bins; equal edges, as in a count feature, are merged)
and how many reference rows fell in each bin. Bin ``i`` holds ``edges[i-1] <= x <
edges[i]``, the same half-open bins as ``np.histogram`` over ``[-inf, *edges, inf]``.

Data-quality checks need the range the model was trained on: per feature, bounds at the
``bound_quantile`` and ``1 - bound_quantile`` reference quantiles, the share of reference
values outside them (about ``2 * bound_quantile``) and the share missing in the reference
(0 for a complete training matrix). Profiles saved before these existed load with
unbounded ranges and zero shares, so they flag missing values and unknown features only.

Examples
--------
>>> X = np.arange(20.0).reshape(10, 2)
>>> prof = ReferenceProfile.from_features("churn", "v1", ["a", "b"], X, n_bins=2)
>>> prof.edges[0].tolist(), prof.counts[0].tolist()
([9.0], [5, 5])
>>> prof.bin_indices(np.array([[0.0, 30.0]])).tolist()
[[0, 1]]
>>> ReferenceProfile.from_json(prof.to_json()) == prof
True
>>> prof.low.round(3).tolist(), prof.high.round(3).tolist(), prof.out_of_range.tolist()
([0.018, 1.018], [17.982, 18.982], [0.2, 0.2])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detectors.reference.file_write import write_atomically

__all__ = ["ReferenceProfile"]

#: File name of a model version's output profile (its scores on the reference rows) and
#: the output names it profiles: the reference of prediction drift.
OUTPUT_REFERENCE = "reference_output.json"
OUTPUTS: tuple[str, ...] = ("score",)

_SCHEMA_VERSION = 1


@dataclass(eq=False)
class ReferenceProfile:
    """Per-feature quantile bins of a model's reference (training) inputs.

    Attributes
    ----------
    model, version
        The model and version the reference data trained.
    names
        Feature names, in column order.
    edges
        Per feature, the sorted distinct interior cut points (``n_bins - 1`` or fewer).
    counts
        Per feature, int64 counts of the reference rows in each of ``len(edges) + 1`` bins.
    n
        Number of reference rows.
    low, high
        Per feature, the training range: values outside ``[low, high]`` are out of range
        (``-inf`` and ``inf`` when the profile was saved without bounds).
    out_of_range
        Per feature, the share of reference values outside ``[low, high]``.
    missing
        Per feature, the share of reference rows without the feature.
    """

    model: str
    version: str
    names: tuple[str, ...]
    edges: list[np.ndarray]
    counts: list[np.ndarray]
    n: int
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    out_of_range: np.ndarray | None = None
    missing: np.ndarray | None = None

    def __post_init__(self) -> None:
        d = len(self.names)
        if self.low is None or self.high is None:
            self.low, self.high = np.full(d, -np.inf), np.full(d, np.inf)
        if self.out_of_range is None:
            self.out_of_range = np.zeros(d)
        if self.missing is None:
            self.missing = np.zeros(d)

    @classmethod
    def from_features(
        cls,
        model: str,
        version: str,
        names: Sequence[str],
        X: np.ndarray,
        n_bins: int = 10,
        bound_quantile: float = 0.001,
    ) -> ReferenceProfile:
        """Profile the ``(n, d)`` reference matrix ``X`` with ``n_bins`` quantile bins and
        bounds at the ``bound_quantile`` and ``1 - bound_quantile`` quantiles."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(names) or X.shape[0] == 0:
            raise ValueError(
                f"X must be a non-empty (n, {len(names)}) matrix matching names, "
                f"got shape {X.shape}"
            )
        if n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {n_bins}")
        if not np.isfinite(X).all():
            raise ValueError("X must hold finite values only (found NaN or inf)")
        if not 0 <= bound_quantile < 0.5:
            raise ValueError(f"bound_quantile must be in [0, 0.5), got {bound_quantile}")
        qs = np.arange(1, n_bins) / n_bins
        cuts = np.quantile(X, qs, axis=0)  # (n_bins - 1, d)
        edges = [np.unique(cuts[:, j]) for j in range(X.shape[1])]
        low, high = np.quantile(X, [bound_quantile, 1 - bound_quantile], axis=0)
        outside = (np.less(X, low) | np.greater(X, high)).mean(axis=0)
        prof = cls(model, version, tuple(names), edges, [], X.shape[0], low, high, outside)
        idx = prof.bin_indices(X)
        prof.counts = [
            np.bincount(idx[:, j], minlength=len(e) + 1).astype(np.int64)
            for j, e in enumerate(edges)
        ]
        return prof

    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.names)

    def proportions(self) -> list[np.ndarray]:
        """Per feature, the share of reference rows in each bin."""
        return [c / self.n for c in self.counts]

    def bin_indices(self, X: np.ndarray) -> np.ndarray:
        """Bin index of every value of the ``(m, d)`` matrix ``X``, as an ``(m, d)`` int array.

        NaN sorts above every edge, so it lands in the last bin; validate inputs first.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X must be an (m, {self.n_features}) matrix of {self.names}, got shape {X.shape}"
            )
        out = np.empty(X.shape, dtype=np.int64)
        for j, e in enumerate(self.edges):
            out[:, j] = np.searchsorted(e, X[:, j], side="right")
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReferenceProfile):
            return NotImplemented
        return (
            (self.model, self.version, self.names, self.n)
            == (other.model, other.version, other.names, other.n)
            and _arrays_equal(self.edges, other.edges)
            and _arrays_equal(self.counts, other.counts)
            and _arrays_equal(self.bounds, other.bounds)
        )

    @property
    def bounds(self) -> list[np.ndarray]:
        """``[low, high, out_of_range, missing]``, the data-quality part of the profile."""
        assert self.low is not None and self.high is not None
        assert self.out_of_range is not None and self.missing is not None
        return [self.low, self.high, self.out_of_range, self.missing]

    # -- persistence ------------------------------------------------------------------
    def to_json(self) -> str:
        """Serialise to JSON; floats keep their exact value (shortest repr round-trips)."""
        doc: dict[str, Any] = {
            "schema_version": _SCHEMA_VERSION,
            "model": self.model,
            "version": self.version,
            "names": list(self.names),
            "edges": [e.tolist() for e in self.edges],
            "counts": [c.tolist() for c in self.counts],
            "n": self.n,
        }
        low, high, out_of_range, missing = self.bounds
        if np.isfinite(low).all() and np.isfinite(high).all():  # JSON has no infinity
            doc.update(low=low.tolist(), high=high.tolist(), out_of_range=out_of_range.tolist())
        doc["missing"] = missing.tolist()
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        """Read a profile written by :meth:`to_json`."""
        doc = json.loads(text)
        if doc.get("schema_version") != _SCHEMA_VERSION:
            raise ValueError(
                f"reference profile schema_version must be {_SCHEMA_VERSION}, "
                f"got {doc.get('schema_version')!r}"
            )
        return cls(
            model=doc["model"],
            version=doc["version"],
            names=tuple(doc["names"]),
            edges=[np.asarray(e, dtype=np.float64) for e in doc["edges"]],
            counts=[np.asarray(c, dtype=np.int64) for c in doc["counts"]],
            n=int(doc["n"]),
            low=_floats(doc.get("low")),
            high=_floats(doc.get("high")),
            out_of_range=_floats(doc.get("out_of_range")),
            missing=_floats(doc.get("missing")),
        )

    def save(self, path: Path) -> None:
        """Write the JSON to ``path`` atomically (a reader never sees half a file)."""
        write_atomically(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> ReferenceProfile:
        """Read a profile saved by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _floats(values: list[float] | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


def _arrays_equal(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
