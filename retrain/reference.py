"""The reference profile of a model's inputs: per-feature decile bins and their counts.

Drift detectors compare live traffic with the data a model was trained on. The profile
keeps what they need and no more: for each feature the interior cut points at the
reference deciles (9 edges, so 10 bins; equal edges, as in a count feature, are merged)
and how many reference rows fell in each bin. Bin ``i`` holds ``edges[i-1] <= x <
edges[i]``, the same half-open bins as ``np.histogram`` over ``[-inf, *edges, inf]``.

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
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    """

    model: str
    version: str
    names: tuple[str, ...]
    edges: list[np.ndarray]
    counts: list[np.ndarray]
    n: int

    @classmethod
    def from_features(
        cls,
        model: str,
        version: str,
        names: Sequence[str],
        X: np.ndarray,
        n_bins: int = 10,
    ) -> ReferenceProfile:
        """Profile the ``(n, d)`` reference matrix ``X`` with ``n_bins`` quantile bins."""
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
        qs = np.arange(1, n_bins) / n_bins
        cuts = np.quantile(X, qs, axis=0)  # (n_bins - 1, d)
        edges = [np.unique(cuts[:, j]) for j in range(X.shape[1])]
        prof = cls(model, version, tuple(names), edges, [], X.shape[0])
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
        )

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
        )

    def save(self, path: Path) -> None:
        """Write the JSON to ``path`` atomically (a reader never sees half a file)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> ReferenceProfile:
        """Read a profile saved by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _arrays_equal(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
