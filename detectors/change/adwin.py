"""ADWIN: adaptive windowing, with a batch path that checks many cut points at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.base import check_range
from detectors.change import adwin_kernel
from detectors.change.base import ChangeDetector, check_positive_int


class ADWIN(ChangeDetector):
    r"""Adaptive Windowing method for concept drift detection (river-compatible).

    Keeps a window of recent values compressed into exponential buckets (ADWIN2); every
    ``clock`` values it compares the means of every split of the window into an older
    and a newer part, and fires when a difference exceeds the Hoeffding-style bound
    set by ``delta``. The oldest buckets are then dropped until no split differs, and
    the detector starts afresh on the next value (river's behaviour).

    Parameters
    ----------
    delta
        The significance of the test, in (0, 1).
    clock
        How often, in values, the window is checked.
    max_buckets
        The number of buckets of each size kept before two are merged (at least 2).
    min_window_length
        The least size of either part of a split that is tested (at least 1).
    grace_period
        No change is detected before the window holds more than this many values.

    Notes
    -----
    Same hyper-parameters, defaults, buckets, window statistics and alarms as
    ``river.drift.ADWIN`` (a port of its Rust ``AdaptiveWindowing``, with the same
    order of floating-point operations for the totals, variances and merges). One
    difference in rounding: the newer part's sum at a split is ``total - u0`` where
    river subtracts the buckets one by one; an alarm can move only if a difference of
    means lands within a few ulps of its bound. ``n_detections`` is not kept (river's
    resets with the window, so it never exceeds 1).

    ``update_many`` runs the same loop compiled (``adwin_kernel.feed``, numba): the
    same operations in the same order, so the same buckets and alarms bit for bit;
    ``update`` stays plain Python (its cut test vectorised over the splits with numpy)
    and is the reference the contract suite holds the batch to.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(12345)
    >>> stream = np.concatenate([rng.integers(0, 2, 1000), rng.integers(4, 8, 1000)])
    >>> adwin = ADWIN()
    >>> adwin.update_many(stream)
    array([1023])
    >>> adwin.width  # the values since the reset that followed the alarm
    976.0
    """

    def __init__(self, delta: float = 0.002, clock: int = 32, max_buckets: int = 5,
                 min_window_length: int = 5, grace_period: int = 10) -> None:
        check_range("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
        check_positive_int("clock", clock)
        check_positive_int("max_buckets", max_buckets, minimum=2)
        check_positive_int("min_window_length", min_window_length)
        check_positive_int("grace_period", grace_period, minimum=0)
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._tick = 0
        self._width = 0.0
        self._total = 0.0
        self._variance = 0.0
        self._totals: list[list[float]] = [[]]
        self._variances: list[list[float]] = [[]]

    @property
    def width(self) -> float:
        """The number of values in the window."""
        return self._width

    @property
    def total(self) -> float:
        """The sum of the values in the window."""
        return self._total

    @property
    def variance(self) -> float:
        """The sum of squared deviations from the mean in the window (river's value)."""
        return self._variance

    @property
    def estimation(self) -> float:
        """The mean of the window."""
        return self._total / self._width if self._width else 0.0

    # -- one value at a time (a port of river's Rust code) ------------------------------
    def update(self, x: float) -> None:
        """Feed one value."""
        if self._drift_detected:
            self._reset()
        self._insert(float(x))
        self._tick += 1
        self._drift_detected = False
        due = self._tick % self.clock == 0 and self._width > self.grace_period
        if due and self._window_differs():
            self._shrink()
            self._drift_detected = True

    def _insert(self, value: float) -> None:
        self._totals[0].append(value)
        self._variances[0].append(0.0)
        self._width += 1.0
        inc = 0.0
        if self._width > 1.0:
            d = value - self._total / (self._width - 1.0)
            inc = (self._width - 1.0) * d * d / self._width
        self._variance += inc
        self._total += value
        i = 0
        while len(self._totals[i]) == self.max_buckets + 1:
            t, v = self._totals[i], self._variances[i]
            n1 = float(2**i)
            mu1, mu2 = t[0] / n1, t[1] / n1
            if i + 1 == len(self._totals):
                self._totals.append([])
                self._variances.append([])
            self._totals[i + 1].append(t[0] + t[1])
            self._variances[i + 1].append(v[0] + v[1] + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2))
            del t[:2], v[:2]
            i += 1

    def _window_differs(self) -> bool:
        levels = range(len(self._totals) - 1, -1, -1)
        totals = np.array([t for i in levels for t in self._totals[i]])
        sizes = np.array([2.0**i for i in levels for _ in self._totals[i]])
        n0 = np.cumsum(sizes)
        u0 = np.cumsum(totals)
        n1 = self._width - n0
        mwl = float(self.min_window_length)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.abs(u0 / n0 - (self._total - u0) / n1)
            dp = np.log(2.0 * np.log(self._width) / self.delta)
            m = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
            eps = np.sqrt(2.0 * m * (self._variance / self._width) * dp) + 2.0 / 3.0 * dp * m
        return bool(((n0 >= mwl) & (n1 >= mwl) & (gap > eps)).any())

    def _shrink(self) -> None:
        """Drop the oldest bucket until no split of the window differs (river's loop)."""
        while self._width > 0 and self._window_differs():
            top = len(self._totals) - 1
            n = float(2**top)
            u, v = self._totals[top].pop(0), self._variances[top].pop(0)
            mu = u / n
            self._width -= n
            self._total -= u
            mu_window = self._total / self._width if self._width else float("nan")
            self._variance -= v + n * self._width * (mu - mu_window) * (mu - mu_window) / (
                n + self._width)
            if not self._totals[top] and top > 0:
                self._totals.pop()
                self._variances.pop()

    # -- batches: the same loop, compiled --------------------------------------------
    def _update_batch(self, x: np.ndarray) -> np.ndarray:
        totals, variances, counts, heads = self._bucket_arrays()
        scalars = np.array([self._tick, self._width, self._total, self._variance,
                            len(self._totals), self._drift_detected], dtype=float)
        hits = adwin_kernel.feed(x, totals, variances, counts, heads, scalars, self.delta,
                                 self.clock, self.max_buckets, float(self.min_window_length),
                                 self.grace_period)
        levels = int(scalars[adwin_kernel.LEVELS])
        slots = totals.shape[1]
        ring = [(heads[i] + np.arange(counts[i])) % slots for i in range(levels)]
        self._totals = [totals[i, ring[i]].tolist() for i in range(levels)]
        self._variances = [variances[i, ring[i]].tolist() for i in range(levels)]
        self._tick = int(scalars[adwin_kernel.TICK])
        self._width = float(scalars[adwin_kernel.WIDTH])
        self._total = float(scalars[adwin_kernel.TOTAL])
        self._variance = float(scalars[adwin_kernel.VARIANCE])
        self._drift_detected = bool(scalars[adwin_kernel.FIRED])
        return np.asarray(hits, dtype=np.int64)

    def _bucket_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The buckets as the kernel's rings: totals, variances, counts, heads."""
        rows, slots = adwin_kernel.MAX_LEVELS, adwin_kernel.capacity(self.max_buckets)
        totals, variances = np.zeros((rows, slots)), np.zeros((rows, slots))
        counts, heads = np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=np.int64)
        for i, (t, v) in enumerate(zip(self._totals, self._variances, strict=True)):
            totals[i, : len(t)], variances[i, : len(v)], counts[i] = t, v, len(t)
        return totals, variances, counts, heads

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"delta": 0.0}, {"delta": 1.0}, {"clock": 0}, {"max_buckets": 1},
                {"min_window_length": 0}, {"grace_period": -1}]
