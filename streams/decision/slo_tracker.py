"""Latency SLO burn rates per (model, variant), fed by the merged partition summaries.

Each summary says how many of its predictions met the SLO threshold; the counts go to a
:class:`~detectors.burn_rate.BurnRateMonitor` at the summary's event time, and every
decision window is evaluated against the SRE workbook's multi-window rules. The result
becomes a DetectorReport (burn rates, error budget remaining) and, through the alert
rule, a page or a ticket.

The counts are saved with the decision state, so that a restarted or rebalanced decider
resumes its windows instead of starting them empty (it would then clear a firing page at
once and page again minutes later): per (model, variant), each hour's minute buckets under
a key of their own, the current hour's rewritten by each batch that counts into it, those
older than ``SAVED_HOURS`` tombstoned, and the hourly buckets, rewritten when an hour begins.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from detectors.burn_rate import MINUTE_HORIZON_S, BurnRateAlert, BurnRateMonitor
from detectors.slo import ErrorRateSLO, LatencySLO
from streams.decision.config import DecisionConfig
from streams.wire.events import MonitorSummary

SLO_BURN = "slo_burn_rate"
ERROR_BURN = "slo_error_burn_rate"
#: decision-state key prefix of the saved burn counts; then model, NUL, variant, NUL, part
#: (``hours``, or an hour's number for that hour's minute buckets)
SLO_KEY = b"\x00slo\x00"
#: hours whose minute buckets are kept saved: the 6 h the monitors hold, and the one begun
SAVED_HOURS = math.ceil(MINUTE_HORIZON_S / 3600) + 1
_HOURS = b"hours"

Key = tuple[str, str]  # (model, variant)


class SloTracker:
    """Burn-rate monitors per (model, variant): the latency SLO and the error-rate SLO."""

    def __init__(self, settings: DecisionConfig, clock: Callable[[], float]) -> None:
        self.slo = LatencySLO(
            name=f"p{settings.slo_objective * 100:g} < {settings.slo_threshold_s * 1000:g} ms",
            objective=settings.slo_objective, threshold_s=settings.slo_threshold_s,
            period_s=settings.slo_period_days * 86_400.0)
        self.error_slo = ErrorRateSLO(
            name=f"errors < {(1 - settings.slo_error_objective) * 100:g}%",
            objective=settings.slo_error_objective,
            period_s=settings.slo_period_days * 86_400.0)
        self.clock = clock
        self._monitors: dict[Key, BurnRateMonitor] = {}
        self._errors: dict[Key, BurnRateMonitor] = {}
        # what is saved: the hours recorded into since the last save, the hour parts held
        # in the state topic, and the newest hour when the hourly buckets were last saved
        self._touched: dict[Key, set[int]] = defaultdict(set)
        self._saved: dict[Key, set[int]] = defaultdict(set)
        self._hours_saved_at: dict[Key, int] = {}

    def record(self, summary: MonitorSummary) -> None:
        key = (summary.model, summary.variant)
        self._touched[key].add(math.floor(summary.window_end / 3600))
        self._monitor(self._errors, self.error_slo, key).record(
            summary.n - summary.errors, summary.n, at=summary.window_end)
        if summary.slo_good is None:  # a summary without latencies says nothing of that SLO
            return
        self._monitor(self._monitors, self.slo, key).record(
            summary.slo_good, summary.n, at=summary.window_end)

    def _monitor(self, monitors: dict[Key, BurnRateMonitor], slo: LatencySLO | ErrorRateSLO,
                 key: Key) -> BurnRateMonitor:
        mon = monitors.get(key)
        if mon is None:
            mon = monitors[key] = BurnRateMonitor(slo, clock=self.clock)
        return mon

    def forget(self, model: str) -> None:
        """Drop a model's burn windows (another worker now decides for it)."""
        for held in (self._monitors, self._errors, self._touched, self._saved,
                     self._hours_saved_at):
            for key in [k for k in held if k[0] == model]:
                del held[key]

    # -- saving and restoring ----------------------------------------------------------
    def records(self, model: str) -> dict[bytes, bytes]:
        """A model's burn counts as decision-state records: per variant, the hourly
        buckets and the minute buckets of each of the last ``SAVED_HOURS`` hours."""
        out: dict[bytes, bytes] = {}
        for key in self._keys(model):
            newest = self._newest(key)
            out[_key(key, _HOURS)] = self._part(key, None)
            for hour in range(newest - SAVED_HOURS + 1, newest + 1):
                if self._errors[key].hour(hour)["total"][1]:  # every summary counts there
                    out[_key(key, b"%d" % hour)] = self._part(key, hour)
        return out

    def drain(self, model: str) -> dict[bytes, bytes | None]:
        """The records of a model's counts changed since the last drain: the hours
        recorded into, the hourly buckets when a new hour began, and a tombstone (None)
        for each saved hour that fell out of the last ``SAVED_HOURS``."""
        out: dict[bytes, bytes | None] = {}
        for key in self._keys(model):
            newest = self._newest(key)
            live = {h for h in self._touched.pop(key, set()) if h > newest - SAVED_HOURS}
            for hour in sorted(live):
                out[_key(key, b"%d" % hour)] = self._part(key, hour)
            self._saved[key] |= live
            if newest > self._hours_saved_at.get(key, -1):
                out[_key(key, _HOURS)] = self._part(key, None)
                self._hours_saved_at[key] = newest
            for hour in sorted(h for h in self._saved[key] if h <= newest - SAVED_HOURS):
                out[_key(key, b"%d" % hour)] = None
                self._saved[key].discard(hour)
        return out

    def resume(self, model: str, parts: Mapping[bytes, bytes]) -> None:
        """Resume a model's burn windows from its records (keys after ``SLO_KEY`` + model +
        NUL: variant, NUL, part), as :meth:`records` and :meth:`drain` wrote them."""
        by_variant: dict[str, dict[bytes, dict[str, Any]]] = defaultdict(dict)
        for rest, raw in parts.items():
            variant, _, part = rest.rpartition(b"\x00")
            by_variant[variant.decode()][part] = msgspec.json.decode(raw)
        for variant_name, saved in by_variant.items():
            key = (model, variant_name)
            hourly: dict[str, Any] = saved.get(_HOURS, {})
            hours = {int(p): v for p, v in saved.items() if p != _HOURS}
            for kind, monitors, slo in (("errors", self._errors, self.error_slo),
                                        ("latency", self._monitors, self.slo)):
                if kind in hourly or any(kind in v for v in hours.values()):
                    self._monitor(monitors, slo, key).restore_parts(
                        hourly.get(kind), [(h, v[kind]) for h, v in sorted(hours.items())
                                           if kind in v])
            self._saved[key] = set(hours)
            self._hours_saved_at[key] = max(hours, default=-1)

    def _keys(self, model: str) -> list[Key]:
        return sorted(k for k in self._errors if k[0] == model)

    def _newest(self, key: Key) -> int:
        """The hour of the newest event recorded for ``key`` (every summary counts there)."""
        newest = self._errors[key].newest_hour()
        return -1 if newest is None else newest

    def _part(self, key: Key, hour: int | None) -> bytes:
        mons = {"errors": self._errors.get(key), "latency": self._monitors.get(key)}
        return msgspec.json.encode({name: mon.hours() if hour is None else mon.hour(hour)
                                    for name, mon in mons.items() if mon is not None})

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


def _key(key: Key, part: bytes) -> bytes:
    return SLO_KEY + key[0].encode() + b"\x00" + key[1].encode() + b"\x00" + part
