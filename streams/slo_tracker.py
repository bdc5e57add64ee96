"""Latency SLO burn rates per (model, variant), fed by the merged partition summaries.

Each summary says how many of its predictions met the SLO threshold; the counts go to a
:class:`~detectors.burn_rate.BurnRateMonitor` at the summary's event time, and every
decision window is evaluated against the SRE workbook's multi-window rules. The result
becomes a DetectorReport (burn rates, error budget remaining) and, through the alert
rule, a page or a ticket.
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.burn_rate import BurnRateAlert, BurnRateMonitor, ErrorRateSLO, LatencySLO
from streams.events import MonitorSummary
from streams.settings import MonitorSettings

SLO_BURN = "slo_burn_rate"
ERROR_BURN = "slo_error_burn_rate"


class SloTracker:
    """Burn-rate monitors per (model, variant): the latency SLO and the error-rate SLO."""

    def __init__(self, settings: MonitorSettings, clock: Callable[[], float]) -> None:
        self.slo = LatencySLO(
            name=f"p{settings.slo_objective * 100:g} < {settings.slo_threshold_s * 1000:g} ms",
            objective=settings.slo_objective, threshold_s=settings.slo_threshold_s,
            period_s=settings.slo_period_days * 86_400.0)
        self.error_slo = ErrorRateSLO(
            name=f"errors < {(1 - settings.slo_error_objective) * 100:g}%",
            objective=settings.slo_error_objective,
            period_s=settings.slo_period_days * 86_400.0)
        self.clock = clock
        self._monitors: dict[tuple[str, str], BurnRateMonitor] = {}
        self._errors: dict[tuple[str, str], BurnRateMonitor] = {}

    def record(self, summary: MonitorSummary) -> None:
        key = (summary.model, summary.variant)
        errors = self._errors.get(key)
        if errors is None:
            errors = self._errors[key] = BurnRateMonitor(self.error_slo, clock=self.clock)
        errors.record(summary.n - summary.errors, summary.n, at=summary.window_end)
        if summary.slo_good is None:  # a summary without latencies says nothing of that SLO
            return
        mon = self._monitors.get(key)
        if mon is None:
            mon = self._monitors[key] = BurnRateMonitor(self.slo, clock=self.clock)
        mon.record(summary.slo_good, summary.n, at=summary.window_end)

    def forget(self, model: str) -> None:
        """Drop a model's burn windows (another worker now decides for it)."""
        for monitors in (self._monitors, self._errors):
            for key in [k for k in monitors if k[0] == model]:
                del monitors[key]

    def evaluate(self, model: str, variant: str) -> BurnRateAlert | None:
        """The latency SLO's burn now (None before any latency was recorded)."""
        mon = self._monitors.get((model, variant))
        return None if mon is None else mon.evaluate()

    def evaluate_errors(self, model: str, variant: str) -> BurnRateAlert | None:
        """The error-rate SLO's burn now."""
        mon = self._errors.get((model, variant))
        return None if mon is None else mon.evaluate()


def burn_evidence(alert: BurnRateAlert) -> dict[str, float | str]:
    """Burn rates per window (named like 1h, 5m) and the budget left, for reports."""
    evidence: dict[str, float | str] = {"slo": alert.slo,
                                        "budget_remaining": round(alert.budget_remaining, 6)}
    for window_s, rate in sorted(alert.burn_rates.items()):
        evidence[f"burn_{_span(window_s)}"] = round(rate, 3)
    return evidence


def _span(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
