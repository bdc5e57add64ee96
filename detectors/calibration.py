"""Set a detector's threshold from a target false-alarm rate, by simulation.

Null streams are drawn by a seeded (block) bootstrap of reference data, which holds
no change; the threshold is the least one whose alarm rate on them is at most the
target. The same streams serve every candidate threshold (common random numbers), so
the alarm rate is monotone in the threshold and a bisection finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from detectors.base import check_range
from detectors.change.base import ChangeDetector


@dataclass(frozen=True)
class Calibration:
    """A calibrated threshold and what it did on the simulated null streams."""

    threshold: float
    """The least threshold found whose alarm rate is at most the target."""
    target_rate: float
    """The target false alarms per value (1 / the expected run length)."""
    realised_rate: float
    """Alarms per value at ``threshold`` on the simulated streams."""
    n_values: int
    """Values simulated per candidate threshold."""


def bootstrap_streams(reference: np.ndarray, n_streams: int, length: int, seed: int,
                      block: int = 1) -> np.ndarray:
    """Seeded moving-block bootstrap of ``reference``: ``(n_streams, length)`` values.

    Examples
    --------
    >>> bootstrap_streams(np.arange(10.0), 2, 4, seed=0, block=2).shape
    (2, 4)
    """
    reference = np.asarray(reference, dtype=float)
    if not 1 <= block <= reference.size:
        raise ValueError(f"block must be in [1, {reference.size}], got {block!r}")
    rng = np.random.default_rng(seed)
    n_blocks = -(-length // block)
    starts = rng.integers(0, reference.size - block + 1, size=(n_streams, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_streams, -1)[:, :length]
    return reference[idx]


def alarm_rate(factory: Callable[[float], ChangeDetector], threshold: float,
               streams: np.ndarray) -> float:
    """Alarms per value of ``factory(threshold)`` run afresh on each stream."""
    alarms = sum(factory(threshold).update_many(s).size for s in streams)
    return alarms / streams.size


def calibrate(factory: Callable[[float], ChangeDetector], reference: Iterable[float], *,
              false_alarm_rate: float | None = None, run_length: float | None = None,
              low: float, high: float, n_streams: int = 20, length: int = 10_000,
              block: int = 1, seed: int = 0, iterations: int = 30) -> Calibration:
    """The least threshold in ``[low, high]`` with at most the target false-alarm rate.

    Parameters
    ----------
    factory
        Builds a detector from a threshold; its alarm rate must fall as it grows.
    reference
        Values from a stable period.
    false_alarm_rate, run_length
        The target: false alarms per value, or the expected values between false
        alarms (give exactly one).
    low, high
        The bracket searched (``high`` must meet the target on the streams).
    n_streams, length, block, seed
        The bootstrap: how many streams, how long, the block length, the seed.
    iterations
        Bisection steps.

    Examples
    --------
    >>> from detectors.change import CUSUM
    >>> ref = np.random.default_rng(0).normal(size=5000)
    >>> cal = calibrate(lambda h: CUSUM(threshold=h, mean=0.0, std=1.0), ref,
    ...                 run_length=2000, low=1.0, high=20.0, n_streams=10, length=20_000)
    >>> 5.0 < cal.threshold < 8.0, cal.realised_rate <= 1 / 2000
    (True, True)
    """
    if (false_alarm_rate is None) == (run_length is None):
        raise ValueError("give exactly one of false_alarm_rate and run_length")
    target = false_alarm_rate if false_alarm_rate is not None else 1.0 / float(run_length or 1)
    check_range("false_alarm_rate", target, 0.0, 1.0, low_open=True)
    if not low < high:
        raise ValueError(f"low must be below high, got low={low!r}, high={high!r}")
    streams = bootstrap_streams(np.asarray(list(reference), dtype=float), n_streams, length,
                                seed, block)
    high_rate = alarm_rate(factory, high, streams)
    if high_rate > target:
        raise ValueError(f"high={high!r} gives {high_rate:.3g} alarms per value, above the "
                         f"target {target:.3g}: raise high")
    for _ in range(iterations):
        mid = (low + high) / 2.0
        rate = alarm_rate(factory, mid, streams)
        if rate <= target:
            high, high_rate = mid, rate
        else:
            low = mid
    return Calibration(threshold=high, target_rate=target, realised_rate=high_rate,
                       n_values=streams.size)
