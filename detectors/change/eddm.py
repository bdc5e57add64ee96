"""EDDM: drift detection on the distance between a model's errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.base import check_range
from detectors.change.base import ChangeDetector, check_positive_int


class EDDM(ChangeDetector):
    """Early Drift Detection Method on a stream of 0/1 errors (river-compatible).

    Tracks the mean ``p'`` and standard deviation ``s'`` of the distance between two
    errors and the maximum of ``p' + 2 s'``; warns when ``(p' + 2 s') / max`` falls
    below ``alpha`` and fires when it falls below ``beta``. Suits gradual drift better
    than DDM.

    Parameters
    ----------
    warm_start
        The number of outcomes, and of errors, seen before a change can be detected.
    alpha
        The warning level, in (0, 1].
    beta
        The drift level, in (0, alpha].

    Notes
    -----
    Same hyper-parameters, defaults and alarms as ``river.drift.binary.EDDM``. The
    distance variance is ``(S2 - S1**2 / k) / (k - 1)`` from the exact integer sums
    ``S1``, ``S2`` of the ``k`` distances (river uses Welford's update, which differs
    in the last bits), so that ``update_many`` repeats ``update`` exactly.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> errors = np.concatenate([rng.random(1000) < 0.1, rng.random(1000) < 0.6])
    >>> eddm = EDDM(alpha=0.8, beta=0.75)
    >>> eddm.update_many(errors)
    array([1170])
    """

    input_kind = "binary"

    def __init__(self, warm_start: int = 30, alpha: float = 0.95, beta: float = 0.9) -> None:
        check_positive_int("warm_start", warm_start, minimum=0)
        check_range("alpha", alpha, 0.0, 1.0, low_open=True)
        check_range("beta", beta, 0.0, alpha, low_open=True)
        self.warm_start = warm_start
        self.alpha = alpha
        self.beta = beta
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._warning_detected = False
        self._n = 0
        self._last_error = 0
        self._n_errors = 0
        self._s1 = 0.0
        self._s2 = 0.0
        self._p2s_max = -1.0

    @property
    def warning_detected(self) -> bool:
        """Whether the error distances are in the warning zone."""
        return self._warning_detected

    def _p2s(self, k: Any, s1: Any, s2: Any) -> Any:
        mean = s1 / k
        var = np.where(k > 1, (s2 - s1 * s1 / k) / np.maximum(k - 1, 1), 0.0)
        return mean + 2 * np.sqrt(np.maximum(var, 0.0))

    def update(self, x: float) -> None:
        """Feed one outcome: 1 for an error, anything else for a correct prediction."""
        if self._drift_detected:
            self._reset()
        self._n += 1
        if x != 1:
            return
        self._n_errors += 1
        d = self._n - self._last_error
        self._s1 += d
        self._s2 += d * d
        self._last_error = self._n
        if self._n <= self.warm_start:
            return
        p2s = float(self._p2s(self._n_errors, self._s1, self._s2))
        if p2s > self._p2s_max:
            self._p2s_max = p2s
        elif self._n_errors > self.warm_start:
            level = p2s / self._p2s_max
            if level < self.beta:
                self._drift_detected = True
            else:
                self._warning_detected = level < self.alpha

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        pos = np.flatnonzero(x == 1)
        if pos.size == 0:
            self._n += x.size
            return x.size, False
        n = self._n + pos + 1
        d = np.diff(np.concatenate(([self._last_error], n))).astype(float)
        k = self._n_errors + np.arange(1, pos.size + 1)
        s1 = np.cumsum(np.concatenate(([self._s1], d)))[1:]
        s2 = np.cumsum(np.concatenate(([self._s2], d * d)))[1:]
        live = n > self.warm_start
        p2s = np.where(live, self._p2s(k, s1, s2), -np.inf)
        prior_max = np.maximum.accumulate(np.concatenate(([self._p2s_max], p2s[:-1])))
        tested = live & (p2s <= prior_max) & (k > self.warm_start)
        level = np.where(tested, p2s / np.where(tested, prior_max, 1.0), np.inf)
        hit = np.flatnonzero(level < self.beta)
        end = int(hit[0]) if hit.size else pos.size - 1
        warned = np.flatnonzero(tested[: end if hit.size else end + 1])
        if warned.size:
            self._warning_detected = bool(level[warned[-1]] < self.alpha)
        self._n_errors = int(k[end])
        self._last_error = int(n[end])
        self._s1, self._s2 = float(s1[end]), float(s2[end])
        self._p2s_max = float(max(prior_max[end], p2s[end]))
        self._drift_detected = bool(hit.size)
        self._n = int(n[end]) if hit.size else self._n + x.size
        return (int(pos[end]) + 1, True) if hit.size else (x.size, False)

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        return [{"warm_start": -2}, {"alpha": 1.5}, {"alpha": 0.5, "beta": 0.9},
                {"beta": 0.0}]
