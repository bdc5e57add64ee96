"""A mergeable quantile sketch with a relative-error guarantee (DDSketch).

Values are counted in logarithmic buckets: with ``gamma = (1 + a) / (1 - a)`` for a
relative accuracy ``a``, a positive value ``x`` falls in the bucket of key
``ceil(log_gamma(x))``, which covers ``(gamma**(k-1), gamma**k]``; the bucket's
representative value ``2 * gamma**k / (gamma + 1)`` is within ``a`` of every value in it.
A quantile is read by walking the buckets' cumulative counts, so every returned quantile
is within relative error ``a`` of the exact order statistic of rank ``floor(q * (n - 1))``
(numpy's ``method="lower"``). Negative values are kept in a mirrored store, zero in its
own count.

Memory is bounded: each store keeps at most ``max_bins`` contiguous buckets; past that
the lowest buckets are folded into the lowest kept one (as DDSketch's collapsing-lowest
store), which keeps the guarantee for the upper quantiles that latency SLOs watch. Two
sketches of the same accuracy merge into exactly the sketch of the union of their data,
so per-partition states merge into fleet quantiles.

References
----------
Masson, Rim and Lee, "DDSketch: A fast and fully-mergeable quantile sketch with
relative-error guarantees", VLDB 2019.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from detectors.collapsing_store import CollapsingLowestStore

__all__ = ["QuantileSketch"]

_FORMAT_VERSION = 1


class QuantileSketch:
    """DDSketch-style quantile sketch: mergeable, bounded, relative-error guarantee.

    Parameters
    ----------
    relative_accuracy
        Relative error bound ``a`` of every quantile, in ``(0, 1)``.
    max_bins
        Most buckets kept per sign (positive, negative); at least 16. Past it the lowest
        buckets collapse, so only quantiles above the collapsed range keep the guarantee
        (with the defaults, values spanning more than 17 orders of magnitude).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> latencies = rng.lognormal(mean=-3.0, sigma=0.5, size=10_000)
    >>> sketch = QuantileSketch(relative_accuracy=0.01)
    >>> sketch.update_many(latencies)
    >>> exact = float(np.quantile(latencies, 0.99, method="lower"))
    >>> abs(sketch.quantile(0.99) - exact) <= 0.01 * exact
    True
    >>> other = QuantileSketch.from_dict(sketch.snapshot())
    >>> other.update(0.0)
    >>> sketch.merge(other)
    >>> sketch.count, sketch.min
    (20001, 0.0)
    """

    def __init__(self, relative_accuracy: float = 0.01, max_bins: int = 2048) -> None:
        if not (isinstance(relative_accuracy, int | float)
                and 0.0 < relative_accuracy < 1.0):
            raise ValueError(
                f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 16:
            raise ValueError(f"max_bins must be an integer in [16, inf), got {max_bins!r}")
        self.relative_accuracy = relative_accuracy
        self.max_bins = max_bins
        self._gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._multiplier = 1.0 / math.log(self._gamma)
        self._reset()

    def _reset(self) -> None:
        self._pos = CollapsingLowestStore(self.max_bins)
        self._neg = CollapsingLowestStore(self.max_bins)
        self._zero_count = 0
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf

    # -- results -----------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Number of values seen."""
        return self._count

    @property
    def sum(self) -> float:
        """Sum of the values seen (exact up to floating-point rounding)."""
        return self._sum

    @property
    def min(self) -> float:
        """Smallest value seen; nan when empty."""
        return self._min if self._count else math.nan

    @property
    def max(self) -> float:
        """Largest value seen; nan when empty."""
        return self._max if self._count else math.nan

    @property
    def bin_count(self) -> int:
        """Buckets held in memory (both signs), at most ``2 * max_bins``."""
        return int(self._pos.counts.size + self._neg.counts.size)

    # -- updates -----------------------------------------------------------------------
    def _key(self, magnitude: float) -> int:
        return math.ceil(math.log(magnitude) * self._multiplier)

    def update(self, x: float) -> None:
        """Add one value (finite; zero and negatives allowed)."""
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"QuantileSketch.update needs a finite value, got {x!r}")
        if x > 0.0:
            self._pos.add(self._key(x))
        elif x < 0.0:
            self._neg.add(self._key(-x))
        else:
            self._zero_count += 1
        self._count += 1
        self._sum += x
        self._min = min(self._min, x)
        self._max = max(self._max, x)

    def update_many(self, values: np.ndarray) -> None:
        """Add a batch of values; the same state as looping :meth:`update`, vectorised."""
        arr = np.asarray(values, dtype=np.float64).ravel()
        if arr.size == 0:
            return
        if not np.isfinite(arr).all():
            bad = arr[~np.isfinite(arr)][0]
            raise ValueError(f"QuantileSketch.update_many needs finite values, got {bad!r}")
        pos = arr[arr > 0.0]
        neg = arr[arr < 0.0]
        self._pos.add_keys(np.ceil(np.log(pos) * self._multiplier).astype(np.int64))
        self._neg.add_keys(np.ceil(np.log(-neg) * self._multiplier).astype(np.int64))
        self._zero_count += int(arr.size - pos.size - neg.size)
        self._count += int(arr.size)
        self._sum += float(arr.sum())
        self._min = min(self._min, float(arr.min()))
        self._max = max(self._max, float(arr.max()))

    def merge(self, other: QuantileSketch) -> None:
        """Add ``other``'s values to this sketch; both must have the same accuracy."""
        if not isinstance(other, QuantileSketch):
            raise TypeError(f"can only merge a QuantileSketch, got {type(other).__name__}")
        if other._gamma != self._gamma:
            raise ValueError(
                "cannot merge sketches of different relative_accuracy: "
                f"{self.relative_accuracy!r} and {other.relative_accuracy!r}")
        if other._count == 0:
            return
        self._pos.merge(other._pos)
        self._neg.merge(other._neg)
        self._zero_count += other._zero_count
        self._count += other._count
        self._sum += other._sum
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)

    # -- queries -----------------------------------------------------------------------
    def _value(self, key: np.ndarray) -> np.ndarray:
        return 2.0 * np.power(self._gamma, key.astype(np.float64)) / (self._gamma + 1.0)

    def quantile(self, q: float) -> float:
        """The ``q``-quantile, ``q`` in [0, 1]; nan when the sketch is empty.

        The value is within ``relative_accuracy`` of the exact order statistic of rank
        ``floor(q * (count - 1))``; ``q = 0`` and ``q = 1`` give the exact min and max.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], got {q!r}")
        if self._count == 0:
            return math.nan
        if q == 0.0:
            return self._min
        if q == 1.0:
            return self._max
        rank = math.floor(q * (self._count - 1))
        neg_counts = self._neg.counts[::-1]  # most negative value first
        neg_keys = np.arange(self._neg.offset + self._neg.counts.size - 1,
                             self._neg.offset - 1, -1)
        cum = np.cumsum(np.concatenate([neg_counts, [self._zero_count], self._pos.counts]))
        idx = int(np.searchsorted(cum, rank, side="right"))
        if idx < neg_counts.size:
            estimate = -float(self._value(neg_keys[idx : idx + 1])[0])
        elif idx == neg_counts.size:
            estimate = 0.0
        else:
            key = self._pos.offset + idx - neg_counts.size - 1
            estimate = float(self._value(np.array([key]))[0])
        # Clamping can only move the estimate toward the true value, which lies in [min, max].
        return min(max(estimate, self._min), self._max)

    # -- serialisation -----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A compact, JSON-serialisable state (sparse ends trimmed; no inf or nan)."""
        return {
            "v": _FORMAT_VERSION,
            "relative_accuracy": self.relative_accuracy,
            "max_bins": self.max_bins,
            "count": self._count,
            "sum": self._sum,
            "min": self._min if self._count else None,
            "max": self._max if self._count else None,
            "zero": self._zero_count,
            "pos": self._pos.to_dict(),
            "neg": self._neg.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuantileSketch:
        """A new sketch holding :meth:`snapshot`'s output."""
        sketch = cls(relative_accuracy=d["relative_accuracy"], max_bins=d["max_bins"])
        sketch.restore(d)
        return sketch

    def restore(self, d: dict[str, Any]) -> None:
        """Take :meth:`snapshot`'s output (of a sketch with the same accuracy and bins)."""
        if d.get("v") != _FORMAT_VERSION:
            raise ValueError(
                f"sketch format version must be {_FORMAT_VERSION}, got {d.get('v')!r}")
        if (d["relative_accuracy"], d["max_bins"]) != (self.relative_accuracy, self.max_bins):
            raise ValueError("snapshot's relative_accuracy and max_bins must be this sketch's "
                             f"({self.relative_accuracy}, {self.max_bins}), got "
                             f"({d['relative_accuracy']}, {d['max_bins']})")
        self._pos.load(d["pos"])
        self._neg.load(d["neg"])
        self._zero_count = int(d["zero"])
        self._count = int(d["count"])
        stored = self._pos.total + self._neg.total + self._zero_count
        if stored != self._count:
            raise ValueError(
                f"sketch state is inconsistent: count {self._count} != bucket total {stored}")
        self._sum = float(d["sum"])
        if self._count:
            self._min, self._max = float(d["min"]), float(d["max"])

    def __repr__(self) -> str:
        return (f"QuantileSketch(relative_accuracy={self.relative_accuracy!r}, "
                f"max_bins={self.max_bins!r})")
