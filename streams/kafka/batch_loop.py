"""The batch loop that carries a high-rate topic through a pure stage, exactly once.

faust's per-event stream costs ~57 µs of CPU per event (see docs/ARCHITECTURE.md), so
high-rate paths run here instead: aiokafka ``getmany`` takes records in bulk, a
:class:`Stage` turns them into output records, and the outputs and the consumed offsets
are written in one Kafka transaction. A crash before the commit aborts the outputs and
replays the input; read_committed consumers downstream never see the aborted copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition

from streams.kafka import clients as kafka_clients
from streams.kafka.record_writer import send_records
from streams.kafka.stage import Output, Stage
from streams.settings import KafkaSettings
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import LoopProgress
from streams.wire.dead_letter import H_KIND

log = logging.getLogger(__name__)


class _Rebalance(ConsumerRebalanceListener):
    """Flush before partitions go; load their state before any of their records is staged.

    aiokafka may fetch from new partitions while ``on_partitions_assigned`` still runs,
    so the loop holds back every batch until the loop's ``on_assigned`` has finished.
    """

    def __init__(self, loop: TransactionalLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._loop._assigned.clear()
        if self._loop.progress is not None:
            self._loop.progress.revoked()
        await self._loop.flush(force=True)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        try:
            if self._loop.on_assigned is not None:
                await self._loop.on_assigned(set(assigned))
            if self._loop.progress is not None:
                self._loop.progress.assigned(len(assigned))
        except Exception as exc:  # the loop raises it: staging without state is worse
            self._loop._assign_failed = exc
        finally:
            self._loop._assigned.set()


class TransactionalLoop:
    """consume → stage → produce outputs and commit offsets in one transaction."""

    def __init__(self, *, name: str, settings: KafkaSettings, topics: list[str], stage: Stage,
                 max_records: int = 5000, idle_wait_s: float = 0.2,
                 metrics: OpsMetrics | None = None,
                 on_assigned: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
                 progress: LoopProgress | None = None) -> None:
        """``on_assigned`` runs after each assignment (at start and on every rebalance),
        before the first batch of the new partitions: the place to load their state.
        ``progress`` hears of assignments and commits, for the worker's readiness."""
        self.name = name
        self.group_id = f"{settings.topic_prefix}{name}"
        self.stage = stage
        self.max_records = max_records
        self.idle_wait_s = idle_wait_s
        self.settings = settings
        self.topics = topics
        self.metrics = metrics
        self.on_assigned = on_assigned
        self.progress = progress
        self._assigned = asyncio.Event()  # set once on_assigned has run for this assignment
        self._assign_failed: Exception | None = None
        self._dead_letter_topic = f"{settings.topic_prefix}dead-letter"
        self._pending: dict[TopicPartition, int] = {}
        self._consumed: dict[TopicPartition, int] = {}
        self._lock = asyncio.Lock()
        self.records_in = 0
        self.records_out = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; flush what is pending, then close the clients."""
        # aiokafka clients bind to the running event loop, so they are made here
        self._consumer = kafka_clients.consumer(self.settings, self.group_id)
        self._consumer.subscribe(self.topics, listener=_Rebalance(self))
        self._producer = kafka_clients.producer(
            self.settings, transactional_id=f"{self.group_id}-{self.settings.worker_id}")
        await self._producer.start()
        await self._consumer.start()
        log.info("%s loop started (group %s)", self.name, self.group_id)
        try:
            while not stop.is_set():
                wait = self.stage.wait_s()
                timeout = self.idle_wait_s if wait is None else min(wait, self.idle_wait_s)
                batches = await self._consumer.getmany(
                    timeout_ms=max(int(timeout * 1000), 0), max_records=self.max_records)
                if batches:
                    await self._assigned.wait()
                if self._assign_failed is not None:
                    raise RuntimeError(f"{self.name}: loading the state of newly assigned "
                                       "partitions failed") from self._assign_failed
                self._add(batches)
                await self.flush(force=False)
                if self.progress is not None and not self._pending:
                    self.progress.committed()
                self._observe_lag()
                if not batches:
                    await asyncio.sleep(0)  # getmany(timeout_ms=0) may not yield at all
            await self.flush(force=True)
        finally:
            await self._consumer.stop()
            await self._producer.stop()

    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has, from the consumer's metadata."""
        return len(self._consumer.partitions_for_topic(topic) or ())

    def _add(self, batches: dict[TopicPartition, list]) -> None:
        for tp, msgs in batches.items():
            if not msgs:
                continue
            self.stage.add(msgs)  # ConsumerRecords are RawRecords: no copy per record
            self._pending[tp] = self._consumed[tp] = msgs[-1].offset + 1
            self.records_in += len(msgs)
            if self.metrics is not None:
                self.metrics.events_processed.labels(stage=self.name).inc(len(msgs))

    async def flush(self, *, force: bool) -> None:
        """Write the stage's outputs and the consumed offsets, atomically."""
        async with self._lock:
            if not self._pending:
                return
            outputs = self.stage.flush(force=force)
            if outputs is None:
                return
            async with self._producer.transaction():
                delivered = await send_records(self._producer, outputs)
                # Offsets only once the records are acknowledged: a broker of Kafka 3.6+
                # verifies a transaction's first write to each partition with its
                # coordinator (KIP-890), one pending check per transactional id; a
                # TxnOffsetCommit in flight beside the Produce replaces the Produce's
                # check, which then fails as NOT_ENOUGH_REPLICAS and is retried after
                # 100 ms (docs/benchmarks.md, "Produce retries").
                await asyncio.gather(*delivered)
                await self._producer.send_offsets_to_transaction(
                    dict(self._pending), self.group_id)
            self.records_out += len(outputs)
            self._count(outputs)
            self._pending.clear()

    def _count(self, outputs: list[Output]) -> None:
        if self.metrics is None:
            return
        for out in outputs:
            if out.topic == self._dead_letter_topic:
                kind = dict(out.headers or ()).get(H_KIND, b"unknown").decode()
                self.metrics.dead_letters.labels(reason=kind).inc()

    def _observe_lag(self) -> None:
        if self.metrics is None:
            return
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None and tp in self._consumed:
                self.metrics.set_lag(tp.topic, tp.partition, max(high - self._consumed[tp], 0))
