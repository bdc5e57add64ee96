"""Window containers that keep their values sorted, or counted, as values arrive.

A sliding window holds the last ``size`` values; a tumbling window fills to ``size``
values, is read once full, then starts empty. Each keeps the order statistics or the
counts its tests need up to date per value, so a test reads them without re-sorting
or re-scanning history.
"""

from __future__ import annotations

import bisect
import collections
from collections.abc import Iterable

import numpy as np

from detectors.base import check_choice


class SortedWindow:
    """The last ``size`` values (``sliding``) or the current block (``tumbling``), sorted.

    Parameters
    ----------
    size
        The window length, at least 1.
    kind
        ``"sliding"`` or ``"tumbling"``.

    Examples
    --------
    >>> w = SortedWindow(3)
    >>> w.extend([5.0, 1.0, 4.0, 2.0])
    >>> w.sorted().tolist()
    [1.0, 2.0, 4.0]
    >>> t = SortedWindow(2, kind="tumbling")
    >>> t.extend([3.0, 1.0, 7.0])
    >>> t.sorted().tolist(), t.last_full.tolist()
    ([7.0], [1.0, 3.0])
    """

    def __init__(self, size: int, kind: str = "sliding") -> None:
        if size < 1:
            raise ValueError(f"size must be an integer >= 1, got {size!r}")
        check_choice("kind", kind, ["sliding", "tumbling"])
        self.size = size
        self.kind = kind
        self._order: collections.deque[float] = collections.deque()
        self._sorted: list[float] = []
        self.last_full: np.ndarray = np.empty(0)

    def __len__(self) -> int:
        return len(self._order)

    @property
    def full(self) -> bool:
        """Whether the window holds ``size`` values."""
        return len(self._order) == self.size

    def append(self, x: float) -> None:
        """Add one value (and drop the oldest, or close the block, as the kind says)."""
        if self.full:
            if self.kind == "sliding":
                old = self._order.popleft()
                del self._sorted[bisect.bisect_left(self._sorted, old)]
            else:
                self._order.clear()
                self._sorted = []
        self._order.append(x)
        bisect.insort(self._sorted, x)
        if self.kind == "tumbling" and self.full:
            self.last_full = np.asarray(self._sorted)

    def extend(self, values: Iterable[float]) -> None:
        """Add values in order."""
        for x in np.asarray(values, dtype=float).ravel().tolist():
            self.append(x)

    def sorted(self) -> np.ndarray:
        """The window's values, ascending."""
        return np.asarray(self._sorted, dtype=float)


class CountWindow:
    """Counts of category codes ``0 .. n_categories - 1`` over a sliding or tumbling window.

    Parameters
    ----------
    size
        The window length, at least 1.
    n_categories
        The number of categories; codes outside ``[0, n_categories)`` raise ValueError.
    kind
        ``"sliding"`` or ``"tumbling"``.

    Examples
    --------
    >>> w = CountWindow(3, n_categories=2)
    >>> w.extend([0, 1, 1, 1])
    >>> w.counts.tolist()
    [0, 3]
    """

    def __init__(self, size: int, n_categories: int, kind: str = "sliding") -> None:
        if size < 1 or n_categories < 1:
            raise ValueError(
                f"size and n_categories must be integers >= 1, got {size!r}, {n_categories!r}")
        check_choice("kind", kind, ["sliding", "tumbling"])
        self.size = size
        self.n_categories = n_categories
        self.kind = kind
        self._codes: collections.deque[int] = collections.deque()
        self.counts = np.zeros(n_categories, dtype=np.int64)
        self.last_full = np.zeros(n_categories, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._codes)

    def extend(self, codes: Iterable[int]) -> None:
        """Add category codes in order."""
        arr = np.asarray(codes, dtype=np.int64).ravel()
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_categories):
            raise ValueError(f"category codes must be in [0, {self.n_categories}), got "
                             f"{arr.min()}..{arr.max()}")
        for c in arr.tolist():
            if len(self._codes) == self.size:
                if self.kind == "sliding":
                    self.counts[self._codes.popleft()] -= 1
                else:
                    self._codes.clear()
                    self.counts[:] = 0
            self._codes.append(c)
            self.counts[c] += 1
            if self.kind == "tumbling" and len(self._codes) == self.size:
                self.last_full = self.counts.copy()
