"""ADWIN: adaptive windowing, with a batch path that checks many cut points at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.base import check_range
from detectors.change.adwin_buckets import any_cut, grow_pyramid, layout
from detectors.change.base import ChangeDetector, check_positive_int

#: check points per block of the cut matrix; a block that fires ends the batch early
_ROWS = 512


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

    ``update_many`` is exact, not approximate: between resets the bucket layout after
    ``n`` values depends on ``n`` alone (each size class fills to ``max_buckets + 1``
    and merges its two oldest), so the batch computes every merge level with numpy,
    then the layout and every cut of every check point of the batch as one matrix,
    evaluated by the same function that ``update`` calls on its one row.

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
        return bool(any_cut(totals[None, :], sizes[None, :], np.array([self._width]),
                            np.array([self._total]), np.array([self._variance]),
                            self.delta, self.min_window_length)[0])

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

    # -- batches ---------------------------------------------------------------------
    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        n = self._tick + np.arange(1, x.size + 1)
        w = n.astype(float)
        totals = np.cumsum(np.concatenate(([self._total], x)))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = x - totals[:-1] / (w - 1.0)
            inc = np.where(w > 1.0, (w - 1.0) * d * d / w, 0.0)
        variances = np.cumsum(np.concatenate(([self._variance], inc)))[1:]
        totals = totals[1:]
        pyramid = grow_pyramid(self._totals, self._variances, x, self._tick, self.max_buckets)
        checks = np.flatnonzero((n % self.clock == 0) & (n > self.grace_period))
        fired = np.zeros(0, dtype=bool)
        if checks.size:
            fired = self._check_many(pyramid, n[checks], totals[checks], variances[checks])
        end = int(checks[np.argmax(fired)]) if fired.any() else x.size - 1
        self._materialise(pyramid, int(n[end]))
        self._tick, self._width = int(n[end]), float(w[end])
        self._total, self._variance = float(totals[end]), float(variances[end])
        self._drift_detected = bool(fired.any())
        if self._drift_detected:
            self._shrink()
        return end + 1, self._drift_detected

    def _check_many(self, pyramid: Any, n: np.ndarray, totals: np.ndarray,
                    variances: np.ndarray) -> np.ndarray:
        """Whether each check point finds a cut; stops after the first block that does."""
        fired = np.zeros(n.size, dtype=bool)
        for lo in range(0, n.size, _ROWS):
            part = slice(lo, lo + _ROWS)
            fired[part] = self._check_block(pyramid, n[part], totals[part], variances[part])
            if fired[part].any():
                break
        return fired

    def _check_block(self, pyramid: Any, n: np.ndarray, totals: np.ndarray,
                     variances: np.ndarray) -> np.ndarray:
        levels, _, bases = pyramid
        m, c = layout(n, self.max_buckets, len(levels))
        slot = np.arange(self.max_buckets)
        sizes = np.array([float(len(a)) for a in levels])
        offsets = np.concatenate(([0.0], np.cumsum(sizes)))[:-1].astype(np.int64)
        flat = np.concatenate([*levels, [0.0]])
        valid = slot < c[:, :, None]
        index = offsets[:, None, None] + 2 * m[:, :, None] + slot - np.asarray(bases)[:, None, None]
        index = np.where(valid, index, flat.size - 1)
        weight = valid * (2.0 ** np.arange(len(levels)))[:, None, None]

        def rows(a: np.ndarray) -> np.ndarray:  # (level, row, slot) -> row, oldest first
            return a[::-1].transpose(1, 0, 2).reshape(n.size, -1)

        return any_cut(flat[rows(index)], rows(weight), n.astype(float), totals, variances,
                       self.delta, self.min_window_length)

    def _materialise(self, pyramid: Any, n: int) -> None:
        levels, var_levels, bases = pyramid
        m, c = layout(np.array([n]), self.max_buckets, len(levels))
        self._totals, self._variances = [], []
        for i in range(len(levels)):
            lo = 2 * int(m[i, 0]) - bases[i]
            if c[i, 0] == 0 and i > 0:
                break
            self._totals.append(levels[i][lo: lo + int(c[i, 0])].tolist())
            self._variances.append(var_levels[i][lo: lo + int(c[i, 0])].tolist())

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"delta": 0.0}, {"delta": 1.0}, {"clock": 0}, {"max_buckets": 1},
                {"min_window_length": 0}, {"grace_period": -1}]
