"""What the decision step said: detector reports and alerts, as a reader receives them.

The detection-latency benchmark times each firing alert against the reports of the
windows that led to it; the soak checks that no alert fired at all.
"""

from __future__ import annotations

import asyncio
import time

import msgspec

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.events import Alert, DetectorReport
from streams.wire.topics import Topics


class Watch:
    """Detector reports and alerts, each with the time this reader got it."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.topics = Topics(kafka.topic_prefix)
        self.reports: list[DetectorReport] = []
        self.alerts: list[tuple[float, Alert]] = []

    async def run(self, stop: asyncio.Event) -> None:
        consumer = kafka_clients.reader(self.kafka, self.topics.reports, self.topics.alerts)
        await consumer.start()
        try:
            while not stop.is_set():
                for tp, msgs in (await consumer.getmany(timeout_ms=100)).items():
                    now = time.time()
                    for m in msgs:
                        if tp.topic == self.topics.alerts:
                            self.alerts.append((now, msgspec.json.decode(m.value or b"",
                                                                         type=Alert)))
                        else:
                            self.reports.append(msgspec.json.decode(m.value or b"",
                                                                    type=DetectorReport))
        finally:
            await consumer.stop()

    def drift_windows(self, since: float, until: float) -> list[DetectorReport]:
        """One feature-drift report per window judged drifted and decided in the range,
        in order (two windows closed by one batch share their decision time)."""
        by_window = {(r.ts, r.window_end): r for r in self.reports
                     if r.detector == "feature_drift" and r.decision == "drift"
                     and since <= r.ts <= until}
        return [by_window[k] for k in sorted(by_window)]

    def first_firing(self, since: float) -> float | None:
        """When the first drift page of model churn after ``since`` was readable here."""
        return next((at for at, a in self.alerts if at >= since and a.status == "firing"
                     and a.severity == "page" and a.labels.get("model") == "churn"
                     and a.labels.get("detector", "").endswith("_drift")), None)
