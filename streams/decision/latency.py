"""The latency-quantile adapter: one window's quantile over a threshold is a warning.

A single window says little (a worker's first windows after start include its warm-up,
a loaded box queues for a few seconds), so this alert is a ticket, never a page: pages
for latency come from the SLO burn-rate rules (:mod:`streams.decision.slo_burn`).
"""

from __future__ import annotations

from detectors.latency import QuantileThreshold
from streams.decision.config import DecisionConfig
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow


class LatencyQuantile:
    """Total latency's quantile of the window against a threshold (ticket severity)."""

    detector = "latency_quantile"

    def __init__(self, config: DecisionConfig) -> None:
        self.threshold = QuantileThreshold(config.latency_quantile, config.latency_threshold_s)

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        sketch = win.latency.get("total")
        if sketch is None:
            return []
        v = self.threshold.evaluate(sketch)
        evidence: Evidence = {"quantile": v.quantile, "value_s": round(v.statistic, 6),
                              "threshold_s": v.threshold, "p50_s": round(sketch.quantile(0.5), 6),
                              "n": float(v.n)}
        report = window_report(self.detector, win, n=win.n, statistic=v.statistic,
                               threshold=v.threshold, fired=v.breach, change="breach",
                               evidence=evidence)
        return [Verdict.of(report, severity="ticket")]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return (f"latency p{float(evidence['quantile']) * 100:g} "
                f"{float(evidence['value_s']):.3f}s (threshold "
                f"{float(evidence['threshold_s']):.3f}s)")
