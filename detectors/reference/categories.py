"""The reference of a model's categorical inputs: per feature, how often each category came.

For each categorical feature the profile keeps its vocabulary (the spec's) and the
reference count of each category, plus two bins no vocabulary holds: ``unseen`` (a value
outside the vocabulary) and ``missing`` (no value). Category drift compares a window's
counts over the same bins with the reference's (chi-square, PSI with the unseen bin);
data quality reads the unseen and missing shares.

Examples
--------
>>> prof = CategoryProfile.from_columns(
...     {"plan": ["free", "free", "pro", None, "gold"]}, {"plan": ["free", "pro"]})
>>> prof.bins("plan"), prof.counts["plan"].tolist()
(('free', 'pro', '<unseen>', '<missing>'), [2, 1, 1, 1])
>>> prof.count_values("plan", ["pro", "pro", "team"]).tolist()
[0, 2, 1, 0]
>>> CategoryProfile.from_json(prof.to_json()) == prof
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from detectors.reference.file_write import write_atomically

__all__ = ["FILE_NAME", "MISSING", "UNSEEN", "CategoryProfile"]

#: the profile's file name in a version folder
FILE_NAME: Final = "reference_categories.json"
#: the two bins beyond the vocabulary, in this order after it
UNSEEN: Final = "<unseen>"
MISSING: Final = "<missing>"
_SCHEMA_VERSION: Final = 1


@dataclass(eq=False)
class CategoryProfile:
    """Per categorical feature: its vocabulary and the reference count of each bin.

    Attributes
    ----------
    vocabularies
        Feature name -> its categories, in the spec's order.
    counts
        Feature name -> int64 counts over ``(*vocabulary, UNSEEN, MISSING)``.
    """

    vocabularies: dict[str, tuple[str, ...]]
    counts: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        for name, vocab in self.vocabularies.items():
            if len(self.counts[name]) != len(vocab) + 2:
                raise ValueError(f"counts of {name!r} must have {len(vocab) + 2} bins "
                                 f"(the vocabulary, unseen, missing), got {len(self.counts[name])}")

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[str | None]],
                     vocabularies: Mapping[str, Sequence[str]]) -> CategoryProfile:
        """Count each feature's column of reference values over its bins."""
        vocabs = {name: tuple(v) for name, v in vocabularies.items()}
        profile = cls(vocabs, {n: np.zeros(len(v) + 2, dtype=np.int64) for n, v in vocabs.items()})
        for name in vocabs:
            profile.counts[name] = profile.count_values(name, columns[name])
        return profile

    @property
    def names(self) -> tuple[str, ...]:
        """The categorical features, in order."""
        return tuple(self.vocabularies)

    def bins(self, name: str) -> tuple[str, ...]:
        """The bin labels of feature ``name``: its vocabulary, then unseen and missing."""
        return (*self.vocabularies[name], UNSEEN, MISSING)

    def count_values(self, name: str, values: Sequence[str | None]) -> np.ndarray:
        """Counts of ``values`` over feature ``name``'s bins."""
        vocab = self.vocabularies[name]
        index = {category: i for i, category in enumerate(vocab)}
        unseen, missing = len(vocab), len(vocab) + 1
        codes = [missing if v is None else index.get(v, unseen) for v in values]
        return np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(vocab) + 2)

    def proportions(self, name: str) -> np.ndarray:
        """The reference share of each of ``name``'s bins (zeros when it saw no rows)."""
        counts = self.counts[name]
        total = counts.sum()
        return counts / total if total else np.zeros(len(counts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoryProfile):
            return NotImplemented
        return self.vocabularies == other.vocabularies and all(
            np.array_equal(self.counts[n], other.counts[n]) for n in self.vocabularies)

    def to_json(self) -> str:
        """The profile as JSON."""
        return json.dumps({"schema_version": _SCHEMA_VERSION, "features": [
            {"name": n, "vocabulary": list(v), "counts": self.counts[n].tolist()}
            for n, v in self.vocabularies.items()]})

    @classmethod
    def from_json(cls, text: str) -> CategoryProfile:
        """Read a profile written by :meth:`to_json`."""
        doc = json.loads(text)
        if doc.get("schema_version") != _SCHEMA_VERSION:
            raise ValueError(f"category profile schema_version must be {_SCHEMA_VERSION}, "
                             f"got {doc.get('schema_version')!r}")
        features = doc["features"]
        return cls({f["name"]: tuple(f["vocabulary"]) for f in features},
                   {f["name"]: np.asarray(f["counts"], dtype=np.int64) for f in features})

    def save(self, path: Path) -> None:
        """Write the JSON to ``path`` atomically."""
        write_atomically(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> CategoryProfile:
        """Read a profile saved by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
