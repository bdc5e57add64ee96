"""KSWIN: Kolmogorov-Smirnov test between a sliding window's recent and older values."""

from __future__ import annotations

import collections
import random
import warnings
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np
from scipy import stats

from detectors.base import check_range
from detectors.change.base import ChangeDetector, check_positive_int


class KSWIN(ChangeDetector):
    r"""Kolmogorov-Smirnov Windowing method for concept drift detection (river-compatible).

    Keeps a sliding window of ``window_size`` values; at each update it draws
    ``stat_size`` values at random from the older part and compares them with the
    ``stat_size`` most recent values by a two-sample KS test; it fires when the
    p-value is at most ``alpha`` and the statistic exceeds 0.1.

    Parameters
    ----------
    alpha
        The significance level of the KS test, in (0, 1).
    window_size
        The size of the sliding window.
    stat_size
        The size of each compared sample; ``2 * stat_size <= window_size``.
    seed
        The seed of the draws (an int: every run is reproducible).
    window
        Values to start the window with, avoiding a cold start.

    Notes
    -----
    Same hyper-parameters, draws and alarms as ``river.drift.KSWIN`` given the same
    integer ``seed`` (river's default ``seed=None`` draws from the OS; ours is 0). The
    draws use ``random.Random(seed)`` exactly as river does. The KS p-value of two
    samples of equal size ``r`` depends only on ``D = j / r``, and decreases with ``j``,
    so the test "p <= alpha and D > 0.1" is "j >= j*" with ``j*`` read once from
    ``scipy.stats.ks_2samp`` (exact method, river's ``"auto"`` for ``r <= 10000``); the
    batch path counts ``j`` for all steps at once on a sorted matrix. ``p_value`` is
    that of the last test.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(12345)
    >>> stream = np.concatenate([rng.integers(0, 2, 1000), rng.integers(4, 8, 1000)])
    >>> kswin = KSWIN(alpha=0.0001, seed=42)
    >>> kswin.update_many(stream)
    array([1016])
    """

    def __init__(self, alpha: float = 0.005, window_size: int = 100, stat_size: int = 30,
                 seed: int = 0, window: Iterable[float] | None = None) -> None:
        check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
        check_positive_int("stat_size", stat_size)
        check_positive_int("window_size", window_size, minimum=2 * stat_size)
        check_positive_int("seed", seed, minimum=0)
        self.alpha = alpha
        self.window_size = window_size
        self.stat_size = stat_size
        self.seed = seed
        self.window = None if window is None else tuple(float(v) for v in window)
        super().__init__()
        if self.window:
            self._window.extend(self.window)

    def _reset(self) -> None:
        super()._reset()
        self.p_value = 0.0
        self.n = 0
        self._window: collections.deque[float] = collections.deque(maxlen=self.window_size)
        self._rng = random.Random(self.seed)

    def _state_names(self) -> list[str]:
        return ["_drift_detected", "p_value", "n", "_window", "_rng"]

    @cached_property
    def _p_values(self) -> tuple[float, ...]:
        """KS p-value of two samples of size ``stat_size`` at ``D = j / stat_size``."""
        base = np.arange(self.stat_size, dtype=float)
        with warnings.catch_warnings():  # as river: scipy may fall back to "asymp"
            warnings.simplefilter("ignore", RuntimeWarning)
            return (1.0, *(float(stats.ks_2samp(base, base + j - 0.5, method="auto").pvalue)
                           for j in range(1, self.stat_size + 1)))

    @cached_property
    def _critical(self) -> int:
        """The least count j with p-value <= alpha and j / stat_size > 0.1."""
        r = self.stat_size
        return next((j for j, p in enumerate(self._p_values) if p <= self.alpha and 10 * j > r),
                    r + 1)

    def _draw(self) -> list[int]:
        return self._rng.sample(range(self.window_size - self.stat_size), self.stat_size)

    def update(self, x: float) -> None:
        """Feed one value."""
        if self._drift_detected:
            self._reset()
        self.n += 1
        self._window.append(float(x))
        if len(self._window) < self.window_size:
            return
        w = np.asarray(self._window)
        j = int(_ks_counts(w[None, self._draw()], w[None, -self.stat_size:])[0])
        self._finish(w, j)

    def _finish(self, w: np.ndarray, j: int) -> None:
        self.p_value = self._p_values[j]
        self._drift_detected = j >= self._critical
        if self._drift_detected:
            self._window = collections.deque(w[-self.stat_size:].tolist(),
                                             maxlen=self.window_size)

    def _warm_up(self, x: np.ndarray, start: int) -> int:
        while start < x.size and len(self._window) < self.window_size - 1:
            self.update(float(x[start]))
            start += 1
        return start

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        size, r = self.window_size, self.stat_size
        x = x[:4096]  # bounds the (steps, window) matrix
        head = list(self._window)[-(size - 1):]
        views = np.lib.stride_tricks.sliding_window_view(
            np.concatenate((np.asarray(head, dtype=float), x)), size)
        draws = np.array([self._draw() for _ in range(len(views))]).reshape(-1, r)
        j = _ks_counts(np.take_along_axis(views[:, : size - r], draws, axis=1),
                       views[:, size - r:])
        fired = np.flatnonzero(j >= self._critical)
        end = int(fired[0]) if fired.size else len(views) - 1  # later draws die in the reset
        self.n += end + 1
        self._window = collections.deque(views[end].tolist(), maxlen=size)
        self._finish(views[end], int(j[end]))
        return end + 1, bool(fired.size)

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"alpha": 0.0}, {"alpha": 1.0}, {"stat_size": 0},
                {"window_size": 50, "stat_size": 30}, {"seed": -1}, {"seed": None}]


def _ks_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ``r * D`` of the KS statistic between equal-size samples ``a`` and ``b``."""
    vals = np.concatenate((a, b), axis=1)
    sign = np.concatenate((np.ones_like(a), -np.ones_like(b)), axis=1)
    order = np.argsort(vals, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    walk = np.cumsum(np.take_along_axis(sign, order, axis=1), axis=1)
    ends = np.ones_like(vals, dtype=bool)
    ends[:, :-1] = vals[:, 1:] != vals[:, :-1]  # the CDFs are compared after each tie
    return np.max(np.abs(walk) * ends, axis=1).astype(np.int64)
