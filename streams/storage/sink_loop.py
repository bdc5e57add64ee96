"""The metrics sink: inferwatch's topics into ClickHouse tables, each row once.

Records are gathered over several polls until ``batch_max`` are held or the oldest has
waited ``batch_wait_ms`` (an insert costs ~40 ms of ClickHouse CPU whatever its size, so
under load the batches grow and the cost per row falls, while a quiet stream is still
written within the wait). Each table gets one insert per batch, of columns, with a
deduplication token made of (topic, partition, first and last offset); offsets are
committed only after the insert returned, and a revoked partition's records are written
and committed before it goes. After a crash the sink replays from the last commit and
skips every record at or below the table's stored high-water mark, so a replay writes
nothing twice. Rows are built and inserted in a thread so the event loop (and the other
loops on it) keeps running while ClickHouse is slow; while an insert retries, nothing more
is fetched (backpressure).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError

from streams.kafka import clients as kafka_clients
from streams.settings import ClickHouseSettings, KafkaSettings
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import LoopProgress
from streams.wire.dead_letter import dead_letter
from streams.wire.topics import Topics

log = logging.getLogger(__name__)


class SinkLoop:
    """Consume inferwatch's topics and store them in ClickHouse."""

    def __init__(self, *, kafka: KafkaSettings, clickhouse: ClickHouseSettings,
                 store: ClickHouseStore, metrics: OpsMetrics | None = None,
                 progress: LoopProgress | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.metrics = metrics
        self.progress = progress
        self.topics = Topics(kafka.topic_prefix)
        self.mapper = RowMapper(self.topics, kafka.max_record_bytes,
                                clickhouse.private_fields())
        self.store = store
        self.settings = clickhouse
        self.group_id = f"{kafka.topic_prefix}sink"
        self.kafka = kafka
        self.clock = clock  # how long the oldest held record has waited
        self._high_water: dict[tuple[str, int], int] = {}
        self._held: dict[TopicPartition, list] = {}
        self._held_count = 0
        self._held_since = 0.0
        self._lock = asyncio.Lock()
        self.rows_written = 0
        self.skipped = 0

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.store.apply_schema)
        for topic in self.mapper.source_topics:
            table = self.mapper.table_of(topic)
            for part, off in (await asyncio.to_thread(self.store.high_water, table)).items():
                self._high_water[(topic, part)] = off
        # aiokafka clients bind to the running event loop, so they are made here
        self._consumer = kafka_clients.consumer(self.kafka, self.group_id)
        self._consumer.subscribe(list(self.mapper.source_topics),
                                 listener=_Held(self, self.progress))
        self._producer = kafka_clients.producer(self.kafka)
        await self._producer.start()
        await self._consumer.start()
        log.info("sink started into %s", self.store.dsn.split("@")[-1])
        wait_s = self.settings.batch_wait_ms / 1000
        try:
            while not stop.is_set():
                timeout = wait_s
                if self._held_count:
                    timeout = max(self._held_since + wait_s - self.clock(), 0.0)
                batches = await self._consumer.getmany(
                    timeout_ms=int(timeout * 1000),
                    max_records=max(self.settings.batch_max - self._held_count, 1))
                self._hold(batches)
                if self._held_count and (self._held_count >= self.settings.batch_max
                                         or self.clock() >= self._held_since + wait_s):
                    await self.flush()
                if self.progress is not None and not self._held_count:
                    self.progress.committed()  # flush commits all it was given
            await self.flush()
        finally:
            await self._consumer.stop()
            await self._producer.stop()

    def _hold(self, batches: dict[TopicPartition, list]) -> None:
        for tp, msgs in batches.items():
            if msgs:
                if not self._held_count:
                    self._held_since = self.clock()
                self._held.setdefault(tp, []).extend(msgs)
                self._held_count += len(msgs)

    async def flush(self) -> None:
        """Write and commit every record held."""
        async with self._lock:
            if self._held_count:
                held, self._held, self._held_count = self._held, {}, 0
                await self._write(held)

    async def _write(self, batches: dict[TopicPartition, list]) -> None:
        by_topic: dict[str, list] = defaultdict(list)
        for tp, msgs in sorted(batches.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
            hw = self._high_water.get((tp.topic, tp.partition), -1)
            by_topic[tp.topic].extend(m for m in msgs if m.offset > hw)
        for topic, msgs in by_topic.items():
            if msgs:
                await self._write_topic(topic, msgs)
                await asyncio.sleep(0)  # let the other loops run between tables
        try:
            await self._consumer.commit({tp: msgs[-1].offset + 1
                                         for tp, msgs in batches.items() if msgs})
        except CommitFailedError as exc:
            # the group rebalanced while this batch was written (a slow insert, a pause
            # past the session timeout): the rows are in, under their tokens, so whoever
            # owns the partitions now replays them and writes nothing twice
            log.warning("sink offsets not committed, the group rebalanced: %s",
                        str(exc).splitlines()[0])

    async def _write_topic(self, topic: str, msgs: list) -> None:
        headers = [list(m.headers or ()) for m in msgs] if topic == self.topics.dead_letter \
            else None
        table, rejected = await asyncio.to_thread(self.mapper.rows, topic, msgs, headers)
        if rejected and topic != self.topics.outcomes:
            # predictions are dead-lettered by the monitor that reads them too; internal
            # topics are written by us. Counting is enough there; one dead letter per record.
            self.skipped += len(rejected)
            if self.metrics is not None:
                self.metrics.sink_skipped.labels(topic=topic).inc(len(rejected))
            rejected = []
        for rej in rejected:
            dl = dead_letter(rej)
            await self._producer.send_and_wait(self.topics.dead_letter, dl.value, key=dl.key,
                                               headers=dl.headers)
        if len(table) or any(len(side) for side in table.also):
            ranges: dict[int, list[int]] = {}
            for m in msgs:
                ranges.setdefault(m.partition, [m.offset, m.offset])[1] = m.offset
            token = topic + "|" + ",".join(f"{p}:{a}-{b}" for p, (a, b) in sorted(ranges.items()))
            retries = self.store.retries
            for side in table.also:
                # before the table whose high-water mark says "done": a crash between the
                # two replays the records, and the side table's token absorbs the repeat
                # (an experiment decision is kept once by its id in any case)
                if len(side):
                    await asyncio.to_thread(self.store.insert_columns, side.table,
                                            side.columns, side.data, f"{token}|{side.table}")
            if len(table):
                await asyncio.to_thread(self.store.insert_columns, table.table,
                                        table.columns, table.data, token)
            self.rows_written += len(table)
            if self.metrics is not None:
                self.metrics.events_processed.labels(stage="sink").inc(len(table))
                if self.store.retries > retries:
                    self.metrics.sink_retries.labels(sink="clickhouse").inc(
                        self.store.retries - retries)
        for m in msgs:
            self._high_water[(topic, m.partition)] = m.offset


class _Held(ConsumerRebalanceListener):
    """Write what is held before partitions go; tell readiness which partitions the sink
    holds."""

    def __init__(self, sink: SinkLoop, progress: LoopProgress | None) -> None:
        self._sink = sink
        self._progress = progress

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self._progress is not None:
            self._progress.revoked()
        await self._sink.flush()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self._progress is not None:
            self._progress.assigned(len(assigned))
