"""Page-Hinkley test for a change in the mean, with a vectorised batch path."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import lfilter

from detectors.base import check_choice, check_range
from detectors.change.base import ChangeDetector, check_positive_int

try:  # lfilter's validation costs more than its filtering on the short runs after alarms
    from scipy.signal._sigtools import _linear_filter
except ImportError:  # pragma: no cover - a scipy that moved it: the public path, slower
    _linear_filter = None

_ONE = np.ones(1)


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
    ``dev`` then subtracts ``delta``), so that ``update_many`` (``numpy.cumsum`` and
    the C filter behind ``scipy.signal.lfilter``, both sequential) repeats ``update``
    bit for bit. The statistics differ from river's by about 1e-13 relative, which moves
    an alarm only when a test statistic lands within that distance of ``threshold``.

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

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        n = self._n + np.arange(1, x.size + 1)
        sums = np.cumsum(np.concatenate(([self._sum], x)))[1:]
        dev = x - sums / n
        inc = self._faded(dev - self.delta, self._sum_increase)
        dec = self._faded(dev + self.delta, self._sum_decrease)
        min_inc = np.minimum.accumulate(np.minimum(inc, self._min_increase))
        max_dec = np.maximum.accumulate(np.maximum(dec, self._max_decrease))
        fire = self._fires(inc - min_inc, max_dec - dec)
        if self._n + 1 < self.min_instances:
            fire &= n >= self.min_instances
        hit = np.flatnonzero(fire)
        end = int(hit[0]) if hit.size else x.size - 1
        self._n = int(n[end])
        self._sum = float(sums[end])
        self._sum_increase = float(inc[end])
        self._sum_decrease = float(dec[end])
        self._min_increase = float(min_inc[end])
        self._max_decrease = float(max_dec[end])
        if self._n >= self.min_instances:
            self._drift_detected = bool(hit.size)
        return end + 1, bool(hit.size)

    def _faded(self, steps: np.ndarray, last: float) -> np.ndarray:
        """``s[i] = alpha * s[i - 1] + steps[i]`` from ``s[-1] = last``, sequentially."""
        a = np.array([1.0, -self.alpha])
        zi = np.array([self.alpha * last])
        if _linear_filter is None:
            return np.asarray(lfilter([1.0], a, steps, zi=zi)[0])
        return np.asarray(_linear_filter(_ONE, a, steps, -1, zi)[0])

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"mode": "sideways"}, {"alpha": 0.0}, {"alpha": 1.5},
                {"threshold": 0.0}, {"delta": -1.0}, {"min_instances": 0}]
