"""Page-Hinkley test for a change in the mean, with a vectorised batch path."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from detectors.base import check_choice, check_range
from detectors.change.base import ChangeDetector, check_positive_int

_MODES = ("up", "down", "both")
# scalars carried in and out of the compiled loop, in one float array
_N, _SUM, _INC, _DEC, _MIN_INC, _MAX_DEC, _FIRED = range(7)


class PageHinkley(ChangeDetector):
    """Page-Hinkley method for concept drift detection (river-compatible).

    Keeps the running mean of the stream and two faded cumulative sums of the deviation
    from it, one for increases and one for decreases; it fires when either sum moves
    more than ``threshold`` away from its extreme.

    Parameters
    ----------
    min_instances
        The minimum number of values before a change can be detected.
    delta
        The tolerated magnitude of change.
    threshold
        The detection threshold (lambda).
    alpha
        The fading factor of the cumulative sums, in (0, 1].
    mode
        ``"up"``, ``"down"`` or ``"both"``: which direction of change to detect.

    Notes
    -----
    Same hyper-parameters, defaults and alarms as ``river.drift.PageHinkley``. The
    arithmetic differs in rounding only: the running mean is ``sum / n`` (river updates
    it incrementally) and a faded sum is ``alpha * s + (dev - delta)`` (river adds
    ``dev`` then subtracts ``delta``). The statistics differ from river's by about 1e-13
    relative, which moves an alarm only when a test statistic lands within that distance
    of ``threshold``. ``update_many`` runs the same loop compiled (``_feed``, numba), so
    it repeats ``update`` bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(9)
    >>> stream = np.concatenate([rng.normal(0, 1, 1000), rng.normal(3, 1, 1000)])
    >>> ph = PageHinkley()
    >>> ph.update_many(stream)
    array([1012])
    >>> ph = PageHinkley()
    >>> for i, x in enumerate(stream):
    ...     ph.update(x)
    ...     if ph.drift_detected:
    ...         print(i)
    1012
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        check_positive_int("min_instances", min_instances)
        check_range("delta", delta, 0.0, float("inf"))
        check_range("threshold", threshold, 0.0, float("inf"), low_open=True)
        check_range("alpha", alpha, 0.0, 1.0, low_open=True)
        check_choice("mode", mode, ["up", "down", "both"])
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._n = 0
        self._sum = 0.0
        self._sum_increase = 0.0
        self._sum_decrease = 0.0
        self._min_increase = float("inf")
        self._max_decrease = -1.0  # river's starting value, kept for equal alarms

    @property
    def statistic(self) -> float:
        """The larger of the two test statistics at the last update."""
        return max(self._sum_increase - self._min_increase,
                   self._max_decrease - self._sum_decrease)

    def _fires(self, up: Any, down: Any) -> Any:
        if self.mode == "up":
            return up > self.threshold
        if self.mode == "down":
            return down > self.threshold
        return (up > self.threshold) | (down > self.threshold)

    def update(self, x: float) -> None:
        """Feed one value."""
        if self._drift_detected:
            self._reset()
        self._n += 1
        self._sum += x
        dev = x - self._sum / self._n
        self._sum_increase = self.alpha * self._sum_increase + (dev - self.delta)
        self._sum_decrease = self.alpha * self._sum_decrease + (dev + self.delta)
        self._min_increase = min(self._min_increase, self._sum_increase)
        self._max_decrease = max(self._max_decrease, self._sum_decrease)
        if self._n >= self.min_instances:
            self._drift_detected = bool(self._fires(
                self._sum_increase - self._min_increase,
                self._max_decrease - self._sum_decrease,
            ))

    def _update_batch(self, x: np.ndarray) -> np.ndarray:
        scalars = np.array([self._n, self._sum, self._sum_increase, self._sum_decrease,
                            self._min_increase, self._max_decrease, self._drift_detected],
                           dtype=float)
        hits = _feed(x, scalars, self.min_instances, self.delta, self.threshold, self.alpha,
                     _MODES.index(self.mode))
        self._n = int(scalars[_N])
        self._sum = float(scalars[_SUM])
        self._sum_increase, self._sum_decrease = float(scalars[_INC]), float(scalars[_DEC])
        self._min_increase = float(scalars[_MIN_INC])
        self._max_decrease = float(scalars[_MAX_DEC])
        self._drift_detected = bool(scalars[_FIRED])
        return np.asarray(hits, dtype=np.int64)

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"mode": "sideways"}, {"alpha": 0.0}, {"alpha": 1.5},
                {"threshold": 0.0}, {"delta": -1.0}, {"min_instances": 0}]


@njit(cache=True)
def _feed(x: np.ndarray, scalars: np.ndarray, min_instances: int, delta: float,
          threshold: float, alpha: float, mode: int) -> np.ndarray:  # pragma: no cover
    """``PageHinkley.update`` over ``x``, compiled: the same operations in the same order.

    State comes in and goes out through ``scalars``; returns the positions that fired.
    ``mode`` is the index of the mode in ``_MODES``.
    """
    hits = np.empty(x.size, dtype=np.int64)
    n_hits = 0
    n, total = int(scalars[_N]), scalars[_SUM]
    inc, dec = scalars[_INC], scalars[_DEC]
    min_inc, max_dec = scalars[_MIN_INC], scalars[_MAX_DEC]
    fired = scalars[_FIRED] != 0.0
    for i in range(x.size):
        if fired:
            n, total, inc, dec, min_inc, max_dec = 0, 0.0, 0.0, 0.0, np.inf, -1.0
            fired = False
        n += 1
        total += x[i]
        dev = x[i] - total / n
        inc = alpha * inc + (dev - delta)
        dec = alpha * dec + (dev + delta)
        if inc < min_inc:
            min_inc = inc
        if dec > max_dec:
            max_dec = dec
        if n < min_instances:
            continue
        up, down = inc - min_inc > threshold, max_dec - dec > threshold
        fired = up if mode == 0 else down if mode == 1 else up or down
        if fired:
            hits[n_hits] = i
            n_hits += 1
    scalars[_N], scalars[_SUM], scalars[_INC], scalars[_DEC] = n, total, inc, dec
    scalars[_MIN_INC], scalars[_MAX_DEC] = min_inc, max_dec
    scalars[_FIRED] = 1.0 if fired else 0.0
    return hits[:n_hits]
