"""Service-level objectives: which share of events must be good over a period.

For example 99% of requests under 200 ms over 30 days (:class:`LatencySLO`), or 99.9%
of requests without error (:class:`ErrorRateSLO`). Its error budget is the allowed
bad share, ``1 - objective`` (:func:`error_budget`); each SLO counts the good events of
a batch, and :mod:`detectors.burn_rate` watches how fast the bad ones spend the budget.

Examples
--------
>>> LatencySLO("p99<200ms", objective=0.99, threshold_s=0.2).count_good([0.1, 0.2, 0.3])
(2, 3)
>>> error_budget(0.99)
0.01
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ErrorRateSLO", "LatencySLO", "error_budget"]

_DAY = 86_400.0


def error_budget(objective: float) -> float:
    """The allowed bad share of an SLO of ``objective``: ``1 - objective``, rounded."""
    # 1 - 0.99 is 0.010000000000000009 in binary; rounding gives the intended 0.01, so a
    # burn of exactly 1x compares equal to 1.0 instead of falling short by an ulp.
    return round(1.0 - objective, 12)


def _check_objective(objective: float, period_s: float) -> None:
    if not 0.0 < objective < 1.0:
        raise ValueError(f"objective must be in (0, 1), got {objective!r}")
    if not period_s > 0:
        raise ValueError(f"period_s must be in (0, inf), got {period_s!r}")


@dataclass(frozen=True)
class LatencySLO:
    """``objective`` of requests answered within ``threshold_s`` seconds over ``period_s``."""

    name: str
    objective: float = 0.99
    threshold_s: float = 0.2
    period_s: float = 30 * _DAY

    def __post_init__(self) -> None:
        _check_objective(self.objective, self.period_s)
        if not self.threshold_s > 0:
            raise ValueError(f"threshold_s must be in (0, inf), got {self.threshold_s!r}")

    def count_good(self, latencies_s: np.ndarray) -> tuple[int, int]:
        """(good, total) of a batch of latencies: good is at most ``threshold_s``."""
        arr = np.asarray(latencies_s, dtype=float)
        return int(np.count_nonzero(arr <= self.threshold_s)), int(arr.size)


@dataclass(frozen=True)
class ErrorRateSLO:
    """``objective`` of requests answered without error over ``period_s``."""

    name: str
    objective: float = 0.999
    period_s: float = 30 * _DAY

    def __post_init__(self) -> None:
        _check_objective(self.objective, self.period_s)

    def count_good(self, errors: np.ndarray) -> tuple[int, int]:
        """(good, total) of a batch of error flags (true means the request failed)."""
        arr = np.asarray(errors, dtype=bool)
        return int(arr.size - np.count_nonzero(arr)), int(arr.size)
