"""The health loop: reads the dead-letter topic, topic volumes and group lags; emits alerts.

Low rate (one evaluation every ``interval_s``). Its judgement is
:class:`~streams.health.watch.HealthWatch`'s; here is only the I/O:

- dead letters: a consumer (no group) of every dead-letter partition, from the records
  of the last ``dead_letter_window_s`` on start, reading the headers
  ``inferwatch.source.topic`` and ``inferwatch.error.kind`` and the record's time;
- volumes: the end offsets of each source topic (a topic's records in the window are
  the growth of its end offsets; on start, the offsets at the window's start);
- lag: per watched group, the admin client's committed offsets against end offsets;
- alerts: produced (idempotent, acks=all) to the alerts topic, keyed by fingerprint.

On start it reads the alerts topic and reopens the health alerts still firing there, so
a restart leaves none firing for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.health.watch import HealthWatch
from streams.kafka import clients as kafka_clients
from streams.kafka.topic_reader import read_latest
from streams.settings import HealthSettings, KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import Alert
from streams.wire.topics import ROLES, Topics

log = logging.getLogger(__name__)


class HealthLoop:
    """Evaluate the pipeline's health every few seconds and emit its alerts."""

    def __init__(self, *, kafka: KafkaSettings, settings: HealthSettings,
                 dashboard_url: str = "", clock: Callable[[], float] = time.time) -> None:
        self.kafka = kafka
        self.settings = settings
        self.topics = Topics(kafka.topic_prefix)
        self.watch = HealthWatch(settings, dashboard_url)
        self.clock = clock
        # the topics whose records are decoded by a stage (and so may be dead-lettered)
        self.sources = [self.topics.requests, self.topics.predictions, self.topics.outcomes,
                        self.topics.summaries]

    async def run(self, stop: asyncio.Event) -> None:
        consumer = kafka_clients.reader(self.kafka)
        admin = kafka_clients.admin(self.kafka)
        producer = kafka_clients.producer(self.kafka)
        await consumer.start()
        await admin.start()
        await producer.start()
        try:
            await self._resume(consumer)
            log.info("health loop started")
            interval = self.settings.interval_s
            last = float("-inf")
            while not stop.is_set():
                wait = max(last + interval - time.monotonic(), 0.0)
                batches = await consumer.getmany(timeout_ms=int(wait * 1000))
                self.watch.dead_letters((list(m.headers), m.value, m.timestamp / 1000)
                                        for msgs in batches.values() for m in msgs)
                if time.monotonic() - last < interval:
                    continue  # dead letters flow: count them, judge at the interval
                last = time.monotonic()
                try:
                    alerts = await self._evaluate(consumer, admin)
                except KafkaError as exc:  # a broker hiccup: judge again next time
                    log.warning("health evaluation skipped: %r", exc)
                    continue
                for alert in alerts:
                    await producer.send_and_wait(self.topics.alerts, encode(alert),
                                                 key=alert.fingerprint.encode())
                    log.info("health alert %s %s", alert.status, alert.annotations["summary"])
        finally:
            await producer.stop()
            await admin.close()
            await consumer.stop()

    async def _resume(self, consumer: AIOKafkaConsumer) -> None:
        """Reopen the alerts still firing; read the last window's dead letters and volumes."""
        saved = await read_latest(self.kafka, self.topics.alerts, self.topics.partitions("alerts"))
        alerts = []
        for raw in saved.values():
            try:
                alerts.append(msgspec.json.decode(raw, type=Alert))
            except msgspec.MsgspecError:
                continue  # the router logs undecodable alerts; nothing to reopen here
        reopened = self.watch.adopt(alerts)
        if reopened:
            log.info("health alerts reopened after a restart: %s", reopened)
        dead = [TopicPartition(self.topics.dead_letter, p)
                for p in range(self.topics.partitions("dead-letter"))]
        consumer.assign(dead)
        start = self.clock() - self.settings.dead_letter_window_s
        since = await self._offsets_at(consumer, dead, start)
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        volumes = await self._offsets_at(consumer, self._partitions(self.sources), start)
        self.watch.volumes(_per_topic(volumes), now=start)

    async def _evaluate(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient
                        ) -> list[Alert]:
        now = self.clock()
        topics = sorted(set(self.sources) | set(self.watch.schema.sources))
        ends = await consumer.end_offsets(self._partitions(topics))
        self.watch.volumes(_per_topic(ends), now=now)
        return self.watch.evaluate(await self._lags(consumer, admin), now=now)

    async def _lags(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient
                    ) -> dict[tuple[str, str], int]:
        groups = self.settings.groups or [
            g[0] for g in await admin.list_consumer_groups()
            if str(g[0]).startswith(self.kafka.topic_prefix)]
        lags: dict[tuple[str, str], int] = {}
        for group in sorted(groups):
            committed = {tp: meta.offset for tp, meta in
                         (await admin.list_consumer_group_offsets(group)).items()
                         if meta.offset >= 0}
            if not committed:
                continue
            ends = await consumer.end_offsets(list(committed))
            for tp, offset in committed.items():
                key = (group, tp.topic)
                lags[key] = lags.get(key, 0) + max(ends[tp] - offset, 0)
        return lags

    def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        out: list[TopicPartition] = []
        for topic in topics:
            role = topic.removeprefix(self.kafka.topic_prefix)
            # a topic that is not ours (named by someone else's dead letter): one partition
            count = next((spec.partitions for spec in ROLES if spec.role == role), 1)
            out.extend(TopicPartition(topic, p) for p in range(count))
        return out

    async def _offsets_at(self, consumer: AIOKafkaConsumer, parts: list[TopicPartition],
                          at: float) -> dict[TopicPartition, int]:
        """Each partition's first offset written at or after ``at`` (else its end)."""
        found = await consumer.offsets_for_times({tp: int(at * 1000) for tp in parts})
        ends = await consumer.end_offsets(parts)
        return {tp: found[tp].offset if found.get(tp) is not None else ends[tp]
                for tp in parts}


def _per_topic(offsets: dict[TopicPartition, int]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for tp, offset in offsets.items():
        totals[tp.topic] += offset
    return dict(totals)
