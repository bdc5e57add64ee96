"""A per-feature test of a sliding or tumbling window against a fixed reference."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from detectors.base import check_choice
from detectors.stats.chi_square import chi_square_homogeneity
from detectors.stats.jensen_shannon import jensen_shannon
from detectors.stats.ks import ks_p_value, ks_statistic
from detectors.stats.psi import bin_counts, psi, quantile_edges
from detectors.stats.wasserstein import wasserstein
from detectors.stats.windows import CountWindow, SortedWindow

NUMERIC_TESTS = ["ks", "wasserstein", "psi"]
CATEGORICAL_TESTS = ["chi_square", "jensen_shannon", "psi"]


@dataclass(frozen=True)
class WindowTestResult:
    """One comparison of a window with the reference."""

    test: str
    """The test's name."""
    statistic: float
    """Its statistic (KS D, W1, PSI, chi-square, JS distance)."""
    p_value: float | None
    """Its p-value, where the test has one."""
    window_size: int
    """How many values the window held."""


class NumericWindowTest:
    """KS, Wasserstein or PSI of a numeric feature's window against its reference.

    The window keeps its values sorted as they arrive (PSI keeps bin counts), so a
    result costs one merge of two sorted arrays, never a pass over history.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = NumericWindowTest(rng.normal(size=2000), window_size=500, test="ks")
    >>> t.update_many(rng.normal(1.0, 1.0, 500))
    >>> r = t.result()
    >>> r.statistic > 0.3, r.p_value < 1e-6
    (True, True)
    """

    def __init__(self, reference: Iterable[float], window_size: int = 1000,
                 kind: str = "sliding", test: str = "ks", n_bins: int = 10) -> None:
        check_choice("test", test, NUMERIC_TESTS)
        self.reference = np.sort(np.asarray(reference, dtype=float))
        self.test = test
        self._edges = quantile_edges(self.reference, n_bins)
        self._ref_bins = bin_counts(self.reference, self._edges)
        self._window = SortedWindow(window_size, kind)

    def update_many(self, values: Iterable[float]) -> None:
        """Add values to the window."""
        self._window.extend(values)

    def result(self) -> WindowTestResult:
        """The test on the current window (the last full block, for tumbling windows)."""
        win = self._window.sorted() if self._window.kind == "sliding" else self._window.last_full
        if win.size == 0:
            raise ValueError("the window is empty: feed values before asking for a result")
        if self.test == "ks":
            d = ks_statistic(self.reference, win)
            return WindowTestResult("ks", d, ks_p_value(d, self.reference.size, win.size),
                                    win.size)
        if self.test == "wasserstein":
            return WindowTestResult("wasserstein", wasserstein(self.reference, win), None,
                                    win.size)
        return WindowTestResult("psi", psi(self._ref_bins, bin_counts(win, self._edges)), None,
                                win.size)


class CategoricalWindowTest:
    """Chi-square, Jensen-Shannon or PSI of a categorical feature's window counts.

    Examples
    --------
    >>> t = CategoricalWindowTest([0] * 50 + [1] * 50, n_categories=2, window_size=100,
    ...                           test="chi_square")
    >>> t.update_many([0] * 30 + [1] * 70)
    >>> round(t.result().statistic, 4)
    8.3333
    """

    def __init__(self, reference_codes: Iterable[int], n_categories: int,
                 window_size: int = 1000, kind: str = "sliding",
                 test: str = "chi_square") -> None:
        check_choice("test", test, CATEGORICAL_TESTS)
        codes = np.asarray(reference_codes, dtype=np.int64)
        self.reference_counts = np.bincount(codes, minlength=n_categories)
        self.test = test
        self._window = CountWindow(window_size, n_categories, kind)

    def update_many(self, codes: Iterable[int]) -> None:
        """Add category codes to the window."""
        self._window.extend(codes)

    def result(self) -> WindowTestResult:
        """The test on the current window (the last full block, for tumbling windows)."""
        w = self._window
        counts = w.counts if w.kind == "sliding" else w.last_full
        n = int(counts.sum())
        if n == 0:
            raise ValueError("the window is empty: feed codes before asking for a result")
        if self.test == "chi_square":
            stat, p = chi_square_homogeneity(self.reference_counts, counts)
            return WindowTestResult("chi_square", stat, p, n)
        if self.test == "jensen_shannon":
            return WindowTestResult("jensen_shannon",
                                    jensen_shannon(self.reference_counts, counts), None, n)
        return WindowTestResult("psi", psi(self.reference_counts, counts), None, n)
