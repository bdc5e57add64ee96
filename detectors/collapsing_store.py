"""A quantile sketch's bucket counts: a dense run of integer keys that collapses its lowest.

DDSketch (:mod:`detectors.quantile_sketch`) counts values by logarithmic bucket key; a
:class:`CollapsingLowestStore` holds those counts in one dense array of at most
``max_bins`` contiguous keys, starting at ``offset``. A key below the kept range is
counted in the lowest kept bucket (DDSketch's collapsing-lowest store), which keeps the
sketch's guarantee for the upper quantiles and its memory bounded.

Examples
--------
>>> store = CollapsingLowestStore(max_bins=3)
>>> for key in (5, 6, 6, 7):
...     store.add(key)
>>> store.offset, store.counts.tolist()
(5, [1, 2, 1])
>>> store.add(1)  # below the three kept keys: folded into the lowest
>>> store.offset, store.counts.tolist(), store.total
(5, [2, 2, 1], 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CollapsingLowestStore"]


class CollapsingLowestStore:
    """Counts per integer key in a dense array of at most ``max_bins`` contiguous keys."""

    __slots__ = ("counts", "max_bins", "offset")

    def __init__(self, max_bins: int) -> None:
        self.max_bins = max_bins
        self.offset = 0  # key of counts[0]
        self.counts = np.zeros(0, dtype=np.int64)

    @property
    def total(self) -> int:
        """The number of values counted."""
        return int(self.counts.sum())

    def _cover(self, lo: int, hi: int) -> int:
        """Grow the array to cover keys ``[lo, hi]``, collapsing the lowest; return the floor."""
        if self.counts.size:
            lo = min(lo, self.offset)
            hi = max(hi, self.offset + self.counts.size - 1)
        lo = max(lo, hi - self.max_bins + 1)
        new = np.zeros(hi - lo + 1, dtype=np.int64)
        if self.counts.size:
            keys = np.arange(self.offset, self.offset + self.counts.size)
            np.add.at(new, np.maximum(keys, lo) - lo, self.counts)
        self.counts = new
        self.offset = lo
        return lo

    def add(self, key: int) -> None:
        """Count one value of bucket ``key``."""
        idx = key - self.offset
        if 0 <= idx < self.counts.size:
            self.counts[idx] += 1
            return
        if idx < 0 and self.counts.size == self.max_bins:  # already collapsed below here
            self.counts[0] += 1
            return
        floor = self._cover(key, key)
        self.counts[max(key, floor) - self.offset] += 1

    def add_keys(self, keys: np.ndarray) -> None:
        """Count one value per entry of ``keys`` (int64); the same as looping :meth:`add`."""
        if keys.size == 0:
            return
        floor = self._cover(int(keys.min()), int(keys.max()))
        idx = np.maximum(keys, floor) - self.offset
        self.counts += np.bincount(idx, minlength=self.counts.size)

    def merge(self, other: CollapsingLowestStore) -> None:
        """Add ``other``'s counts to this store's."""
        if other.counts.size:
            self._add_run(other.offset, other.counts)

    def to_dict(self) -> dict[str, Any]:
        """``offset`` and ``counts`` of the run from the first to the last held bucket."""
        nonzero = np.flatnonzero(self.counts)
        if nonzero.size == 0:
            return {"offset": 0, "counts": []}
        first, last = int(nonzero[0]), int(nonzero[-1])
        return {"offset": self.offset + first,
                "counts": self.counts[first:last + 1].tolist()}

    def load(self, d: dict[str, Any]) -> None:
        """Replace the counts with :meth:`to_dict`'s output (collapsed to ``max_bins``)."""
        counts = np.asarray(d["counts"], dtype=np.int64)
        if counts.size and counts.min() < 0:
            raise ValueError("sketch store counts must be >= 0")
        self.counts = np.zeros(0, dtype=np.int64)
        if counts.size:
            self._add_run(int(d["offset"]), counts)

    def _add_run(self, offset: int, counts: np.ndarray) -> None:
        """Add the ``counts`` of the keys from ``offset`` on, the lowest folded if need be."""
        floor = self._cover(offset, offset + counts.size - 1)
        keys = np.arange(offset, offset + counts.size)
        np.add.at(self.counts, np.maximum(keys, floor) - self.offset, counts)
