"""Latency against a threshold: a quantile of a window's latency sketch."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import check_range
from detectors.quantile_sketch import QuantileSketch


@dataclass(frozen=True)
class LatencyVerdict:
    """A window's latency quantile, the threshold, and whether it was breached."""

    quantile: float
    statistic: float
    threshold: float
    n: int
    breach: bool


class QuantileThreshold:
    """Breach when the ``quantile`` of a window's latencies exceeds ``threshold_s``.

    >>> import numpy as np
    >>> sketch = QuantileSketch(relative_accuracy=0.01)
    >>> sketch.update_many(np.linspace(0.01, 0.1, 1000))
    >>> QuantileThreshold(0.99, 0.05).evaluate(sketch).breach
    True
    """

    def __init__(self, quantile: float = 0.99, threshold_s: float = 0.25) -> None:
        check_range("quantile", quantile, 0.0, 1.0, low_open=True, high_open=True)
        check_range("threshold_s", threshold_s, 0.0, float("inf"), low_open=True)
        self.quantile = quantile
        self.threshold_s = threshold_s

    def evaluate(self, sketch: QuantileSketch) -> LatencyVerdict:
        value = sketch.quantile(self.quantile) if sketch.count else float("nan")
        return LatencyVerdict(self.quantile, value, self.threshold_s, sketch.count,
                              bool(sketch.count and value > self.threshold_s))
