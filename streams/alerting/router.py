"""The alert router: alerts topic in; one notification per incident out, to on-call's tools.

Detector alerts (firing, resolved) become :class:`~detectors.alert_signal.AlertSignal`
evaluations; the :class:`~detectors.incidents.IncidentTracker` groups them into one
incident per model and severity, with cooldown and inhibition; the
:class:`~streams.alerting.notifiers.Outbox` delivers each notification to every configured sink with
retries, never blocking the stream. On start the router replays the alerts topic from
its beginning (it is low-rate) to rebuild incident state; the outbox's accepted log
(``spill_dir``) drops what was already delivered, so a restart notifies no one twice.
The replay runs on the alerts' own times: the router does not tick on the wall clock
until it has read up to where the topic ended when it started, so what fell due between
two alerts (a group wait, a group interval's update) is decided as it was live, with the
same ``dedup_key``, and an update that was due but not yet sent before a crash is sent
after it, once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

import msgspec
from aiokafka import TopicPartition

from detectors.alert_signal import AlertSignal
from detectors.incidents import IncidentTracker
from detectors.notification import Notification
from streams.alerting.notifiers import (
    AlertmanagerSink,
    Outbox,
    PagerDutySink,
    Sink,
    SlackSink,
    WebhookSink,
)
from streams.kafka import clients as kafka_clients
from streams.settings import AlertingSettings, KafkaSettings
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import LoopProgress
from streams.wire.events import Alert
from streams.wire.topics import Topics

log = logging.getLogger(__name__)

TICK_S = 1.0
#: how long a replay waits for the next alerts before it counts the topic as read
REPLAY_POLL_S = 0.5


def build_sinks(settings: AlertingSettings) -> list[Sink]:
    """The sinks the settings name (none when nothing is configured)."""
    sinks: list[Sink] = []
    if settings.alertmanager_url:
        sinks.append(AlertmanagerSink(settings.alertmanager_url))
    if settings.webhook_url:
        sinks.append(WebhookSink(settings.webhook_url, token=settings.webhook_token))
    if settings.slack_webhook_url is not None:
        sinks.append(SlackSink(settings.slack_webhook_url))
    if settings.pagerduty_routing_key is not None:
        sinks.append(PagerDutySink(settings.pagerduty_routing_key))
    return sinks


def signal_of(alert: Alert) -> AlertSignal:
    """The tracker's view of one wire alert."""
    at = alert.ends_at if alert.status == "resolved" and alert.ends_at else alert.starts_at
    detector = alert.labels.get("detector", "")
    return AlertSignal(
        model=alert.labels.get("model", ""), detector=detector,
        # feature, prediction, concept and embedding drift are all "drift" to inhibition
        kind="drift" if detector.endswith("_drift") else detector,
        status=alert.status, severity=alert.severity, at=at,
        segment=alert.labels.get("segment", "*"), variant=alert.labels.get("variant", ""),
        summary=alert.annotations.get("summary", ""), evidence=dict(alert.evidence),
        dashboard_url=alert.annotations.get("dashboard", ""),
        # the identity decided upstream, never re-derived from labels
        fingerprint=alert.fingerprint, feature=alert.labels.get("feature", ""))


class AlertRouter:
    """Consume alerts, track incidents, deliver notifications."""

    def __init__(self, *, kafka: KafkaSettings, settings: AlertingSettings,
                 metrics: OpsMetrics | None = None, progress: LoopProgress | None = None
                 ) -> None:
        self.kafka = kafka
        self.progress = progress
        self.settings = settings
        self.topic = Topics(kafka.topic_prefix).alerts
        self.tracker = IncidentTracker(clock=time.time, resolve_after_evaluations=1,
                                       cooldown_s=settings.cooldown_s,
                                       group_wait_s=settings.group_wait_s,
                                       group_interval_s=settings.group_interval_s)
        self.metrics = metrics
        self.notified = 0

    async def run(self, stop: asyncio.Event) -> None:
        sinks = build_sinks(self.settings)
        outbox = Outbox(sinks, spill_dir=self.settings.spill_dir,
                        on_outcome=self.metrics.observe_delivery if self.metrics else None)
        consumer = kafka_clients.reader(self.kafka)
        await consumer.start()
        await outbox.start()
        try:
            parts = [TopicPartition(self.topic, 0)]  # the alerts topic has one partition
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            # the offset the replay ends at: until then, time is the alerts' own
            replay_end = (await consumer.end_offsets(parts))[parts[0]]
            replaying = replay_end > 0
            if self.progress is not None:
                self.progress.assigned(len(parts))
            log.info("alert router started: %s", ", ".join(repr(s) for s in sinks))
            last_tick = time.monotonic()
            while not stop.is_set():
                # wake for the next tick, or sooner when an incident's group wait ends then
                wait = REPLAY_POLL_S if replaying else min(TICK_S, max(self._due_in(), 0.0))
                batches = await consumer.getmany(timeout_ms=int(wait * 1000))
                for msgs in batches.values():
                    for m in msgs:
                        self._route(outbox, m.value or b"")
                # replayed up to where the topic ended at start (or nothing more to read:
                # a transaction marker may hold the last offset)
                replaying = replaying and bool(batches) and (
                    await consumer.position(parts[0]) < replay_end)
                # no wall-clock tick in between replayed alerts
                if not replaying and (time.monotonic() - last_tick >= TICK_S
                                      or self._due_in() <= 0):
                    self._submit(outbox, self.tracker.tick())
                    last_tick = time.monotonic()
                if self.progress is not None:  # it commits nothing: a replay rebuilds it
                    self.progress.committed()
            await asyncio.wait_for(outbox.drain(), timeout=10)
        except TimeoutError:
            log.warning("stopping with %d notifications queued; they are spilled and "
                        "resent on the next start", outbox.pending)
        finally:
            await outbox.stop()
            await consumer.stop()
            for sink in sinks:
                await sink.aclose()

    def _due_in(self) -> float:
        """Seconds until an incident's next notification is due (inf: none waits)."""
        due = self.tracker.next_due()
        return math.inf if due is None else due - self.tracker.clock()

    def _route(self, outbox: Outbox, raw: bytes) -> None:
        try:
            alert = msgspec.json.decode(raw, type=Alert)
        except msgspec.MsgspecError as exc:
            log.error("undecodable alert skipped: %s", exc)
            return
        self._submit(outbox, self.tracker.observe(signal_of(alert)))

    def _submit(self, outbox: Outbox, notes: list[Notification]) -> None:
        for note in notes:
            outbox.submit(note)
            self.notified += 1
