"""One arm's metric as a mergeable summary: count, sum, sum of squares, successes.

Partitions summarise their share of an arm and the decision step merges the parts, as the
drift histograms are merged: the sums add, so the merged summary is exactly the summary of
the union. A binary metric (conversion, error) keeps ``successes``; its sum is the same
number and its sum of squares too, so one class serves both kinds.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ArmSummary:
    """Count, sum, sum of squares (and successes, for a binary metric) of one arm.

    >>> a = ArmSummary(binary=True)
    >>> a.update_many([1, 0, 0, 1]); a.n, a.successes, a.mean
    (4, 2, 0.5)
    >>> b = ArmSummary(binary=True); b.update_many([1, 1])
    >>> a.merge(b); a.n, round(a.variance, 4)
    (6, 0.2222)
    """

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.total = 0.0
        self.total_sq = 0.0

    @property
    def successes(self) -> int:
        """The number of ones of a binary metric (ValueError for a continuous one)."""
        if not self.binary:
            raise ValueError("successes exist only for a binary metric (binary=True)")
        return round(self.total)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else float("nan")

    @property
    def variance(self) -> float:
        """The per-unit variance (maximum likelihood, denominator n)."""
        if not self.n:
            return float("nan")
        mean = self.total / self.n
        return max(self.total_sq / self.n - mean * mean, 0.0)

    def add(self, n: int, total: float, total_sq: float | None = None) -> None:
        """Add a pre-summed part: ``n`` units summing to ``total`` (and ``total_sq``).

        A binary part needs no ``total_sq`` (it equals ``total``)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if self.binary:
            if not 0 <= total <= n or total != round(total):
                raise ValueError(f"a binary part needs 0 <= successes <= n, got {total} of {n}")
            total_sq = total
        elif total_sq is None:
            raise ValueError("a continuous part needs total_sq")
        self.n += int(n)
        self.total += float(total)
        self.total_sq += float(total_sq)

    def update_many(self, values: Any) -> None:
        """Add one unit per value (vectorised)."""
        x = np.asarray(values, dtype=float).ravel()
        if self.binary and not np.isin(x, (0.0, 1.0)).all():
            raise ValueError("a binary metric takes only 0 and 1")
        self.add(x.size, float(x.sum()), float(np.dot(x, x)))

    def merge(self, other: ArmSummary) -> None:
        """Add another part of the same arm and metric."""
        if other.binary != self.binary:
            raise ValueError("cannot merge a binary summary with a continuous one")
        self.n += other.n
        self.total += other.total
        self.total_sq += other.total_sq

    def snapshot(self) -> dict[str, Any]:
        return {"binary": self.binary, "n": self.n, "total": self.total,
                "total_sq": self.total_sq}

    def restore(self, snap: dict[str, Any]) -> None:
        if bool(snap["binary"]) != self.binary:
            raise ValueError(f"snapshot is of a binary={snap['binary']} summary")
        self.n, self.total, self.total_sq = int(snap["n"]), float(snap["total"]), \
            float(snap["total_sq"])
