"""Two-sided CUSUM on standardised values, with a vectorised batch path."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from detectors.base import check_range
from detectors.change.base import ChangeDetector, check_positive_int

#: the cumulative sums are re-based every this many values, so they stay small
_REBASE = 4096


class CUSUM(ChangeDetector):
    """Two-sided tabular CUSUM (Page, 1954) for a shift of the mean.

    The values are standardised, ``z = (x - mean) / std``, with the mean and standard
    deviation given or estimated on the first ``warm_start`` values after each reset;
    ``S+ = max(0, S+ + z - k)`` and ``S- = max(0, S- - z - k)``; the detector fires when
    either exceeds ``threshold``. River has no CUSUM; the in-control average run length
    for Gaussian data with ``k=0.5`` and ``threshold=10`` is about 70,000 values.

    Parameters
    ----------
    k
        The allowance (reference value), in standard deviations: half the shift to detect.
    threshold
        The decision interval ``h``, in standard deviations.
    warm_start
        The number of values used to estimate what ``mean`` and ``std`` leave unset.
    mean
        The in-control mean, or None to estimate it.
    std
        The in-control standard deviation, or None to estimate it.

    Notes
    -----
    ``S+`` is computed as ``C - min(0, min C)`` with ``C`` the cumulative sum of
    ``z - k`` (the closed form of the recursion), re-based every 4096 values; the batch
    path computes the same expression with ``numpy.cumsum`` and
    ``numpy.minimum.accumulate``, so it repeats ``update`` bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> stream = np.concatenate([rng.normal(0, 1, 2000), rng.normal(1, 1, 500)])
    >>> cusum = CUSUM(mean=0.0, std=1.0)
    >>> hits = cusum.update_many(stream)
    >>> int(hits[0])  # the first alarm; it fires again while the shift lasts
    2017
    """

    def __init__(self, k: float = 0.5, threshold: float = 10.0, warm_start: int = 100,
                 mean: float | None = None, std: float | None = None) -> None:
        check_range("k", k, 0.0, float("inf"))
        check_range("threshold", threshold, 0.0, float("inf"), low_open=True)
        check_positive_int("warm_start", warm_start, minimum=2)
        if std is not None:
            check_range("std", std, 0.0, float("inf"), low_open=True)
        self.k = k
        self.threshold = threshold
        self.warm_start = warm_start
        self.mean = mean
        self.std = std
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._n = 0
        self._s1 = 0.0
        self._s2 = 0.0
        self._mu = self.mean
        self._sigma = self.std
        self._c = np.zeros(2)  # cumulative sums of z - k and of -z - k
        self._m = np.zeros(2)  # their running minima, floored at 0

    @property
    def statistic(self) -> float:
        """max(S+, S-) at the last update."""
        return float(np.max(self._c - self._m))

    def _ready(self) -> bool:
        return self._mu is not None and self._sigma is not None

    def _learn(self, x: float) -> None:
        self._s1 += x
        self._s2 += x * x
        if self._n < self.warm_start:
            return
        mu = self._s1 / self._n
        var = max((self._s2 - self._s1 * mu) / (self._n - 1), 0.0)
        self._mu = mu if self.mean is None else self.mean
        self._sigma = (math.sqrt(var) or 1.0) if self.std is None else self.std

    def _warm_up(self, x: np.ndarray, start: int) -> int:
        while start < x.size and not self._ready():
            self.update(float(x[start]))
            start += 1
        return start

    def update(self, x: float) -> None:
        """Feed one value."""
        if self._drift_detected:
            self._reset()
        if not self._ready():
            self._n += 1
            self._learn(x)
            return
        self._run(np.array([x], dtype=float))

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        """Feed ``x`` up to its first alarm, or to the next re-base."""
        assert self._mu is not None and self._sigma is not None
        x = x[: _REBASE - self._n % _REBASE]
        z = (x - self._mu) / self._sigma
        steps = np.stack([z - self.k, -z - self.k], axis=1)
        c = np.cumsum(np.concatenate((self._c[None, :], steps)), axis=0)[1:]
        m = np.minimum.accumulate(np.minimum(c, self._m), axis=0)
        s = np.max(c - m, axis=1)
        hit = np.flatnonzero(s > self.threshold)
        end = int(hit[0]) if hit.size else x.size - 1
        self._n += end + 1
        self._c, self._m = c[end].copy(), m[end].copy()
        if self._n % _REBASE == 0:
            self._c, self._m = self._c - self._m, np.zeros(2)
        self._drift_detected = bool(hit.size)
        return end + 1, bool(hit.size)

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"k": -0.1}, {"threshold": 0.0}, {"warm_start": 1}, {"std": 0.0}]
