"""DDM: drift detection on the error rate of a model's labelled outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.base import check_range
from detectors.change.base import ChangeDetector, check_positive_int


class DDM(ChangeDetector):
    """Drift Detection Method on a stream of 0/1 errors (river-compatible).

    Tracks the error rate ``p`` and its binomial standard deviation ``s``; remembers
    ``p_min`` and ``s_min`` where ``p + s`` was lowest; warns when
    ``p + s > p_min + warning_threshold * s_min`` and fires when
    ``p + s > p_min + drift_threshold * s_min``.

    Parameters
    ----------
    warm_start
        The number of outcomes seen before a change can be detected.
    warning_threshold
        The warning level, in standard deviations.
    drift_threshold
        The drift level, in standard deviations; at least ``warning_threshold``.

    Notes
    -----
    Same hyper-parameters, defaults and alarms as ``river.drift.binary.DDM``. The error
    rate is ``errors / n`` (river updates a mean incrementally, which differs in the
    last bits), so that ``update_many`` repeats ``update`` exactly.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> errors = np.concatenate([rng.random(1000) < 0.2, rng.random(1000) < 0.5])
    >>> ddm = DDM()
    >>> ddm.update_many(errors)
    array([1457])
    >>> ddm.warning_detected
    False
    """

    input_kind = "binary"

    def __init__(self, warm_start: int = 30, warning_threshold: float = 2.0,
                 drift_threshold: float = 3.0) -> None:
        check_positive_int("warm_start", warm_start, minimum=0)
        check_range("warning_threshold", warning_threshold, 0.0, float("inf"), low_open=True)
        check_range("drift_threshold", drift_threshold, warning_threshold, float("inf"))
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._warning_detected = False
        self._n = 0
        self._errors = 0.0
        self._p_min = float("nan")
        self._s_min = float("nan")
        self._ps_min = float("inf")

    @property
    def warning_detected(self) -> bool:
        """Whether the error rate is in the warning zone."""
        return self._warning_detected

    @property
    def error_rate(self) -> float:
        """The error rate since the last reset."""
        return self._errors / self._n if self._n else 0.0

    def update(self, x: float) -> None:
        """Feed one outcome: 1 for an error, 0 for a correct prediction."""
        if self._drift_detected:
            self._reset()
        self._n += 1
        self._errors += x
        p = self._errors / self._n
        s = np.sqrt(p * (1 - p) / self._n)
        if self._n <= self.warm_start:
            return
        if p + s <= self._ps_min:
            self._p_min, self._s_min, self._ps_min = p, float(s), p + s
        self._warning_detected = bool(p + s > self._p_min + self.warning_threshold * self._s_min)
        if p + s > self._p_min + self.drift_threshold * self._s_min:
            self._drift_detected = True
            self._warning_detected = False

    def _warm_up(self, x: np.ndarray, start: int) -> int:
        while start < x.size and self._n < self.warm_start:
            self.update(float(x[start]))
            start += 1
        return start

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        n = self._n + np.arange(1, x.size + 1)
        errors = np.cumsum(np.concatenate(([self._errors], x)))[1:]
        p = errors / n
        s = np.sqrt(p * (1 - p) / n)
        ps = p + s
        prior_min = np.minimum.accumulate(np.concatenate(([self._ps_min], ps[:-1])))
        at = np.where(ps <= prior_min, np.arange(x.size), -1)
        last = np.maximum.accumulate(at)
        p_min = np.where(last >= 0, p[last], self._p_min)
        s_min = np.where(last >= 0, s[last], self._s_min)
        drift = ps > p_min + self.drift_threshold * s_min
        hit = np.flatnonzero(drift)
        end = int(hit[0]) if hit.size else x.size - 1
        self._n = int(n[end])
        self._errors = float(errors[end])
        self._p_min, self._s_min = float(p_min[end]), float(s_min[end])
        self._ps_min = float(min(prior_min[end], ps[end]))
        self._warning_detected = bool(
            not hit.size and ps[end] > p_min[end] + self.warning_threshold * s_min[end])
        self._drift_detected = bool(hit.size)
        return end + 1, bool(hit.size)

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"warm_start": -1}, {"warning_threshold": 0.0},
                {"warning_threshold": 3.0, "drift_threshold": 2.0}]
