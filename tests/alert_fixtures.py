"""Fixtures of the alerting tests: a manual clock and a notification factory."""

from __future__ import annotations

import asyncio

from detectors.alert_signal import AlertSignal
from detectors.incidents import IncidentTracker
from detectors.notification import Notification


class ManualClock:
    """A clock that moves only when told; ``sleep`` advances it and yields to the loop."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def make_note(model: str = "ranker", status: str = "firing", at: float = 1000.0,
              **signal: object) -> Notification:
    """A real notification, produced by the incident tracker."""
    tracker = IncidentTracker(clock=lambda: at, resolve_after_evaluations=1)
    (note,) = tracker.observe(AlertSignal(model, "latency_burn_rate", "firing", at=at,
                                          summary="p99 burn 14.7x",
                                          evidence={"burn_1h": 14.7},
                                          dashboard_url="http://grafana.local/d/lat",
                                          **signal))  # type: ignore[arg-type]
    if status == "resolved":
        (note,) = tracker.observe(AlertSignal(model, "latency_burn_rate", "resolved",
                                              at=at + 60, **signal))  # type: ignore[arg-type]
    return note
