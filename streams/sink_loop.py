"""The metrics sink: inferwatch's topics into ClickHouse tables, each row once.

Records are taken in bulk, mapped to rows, and inserted one table per batch with a
deduplication token made of (topic, partition, first and last offset); offsets are
committed only after the insert returned. After a crash the sink replays from the last
commit and skips every record at or below the table's stored high-water mark, so a
replay writes nothing twice. Inserts run in a thread so heartbeats keep flowing while
ClickHouse is slow; while an insert retries, nothing more is fetched (backpressure).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError

from streams import kafka_clients
from streams.clickhouse_store import ClickHouseStore
from streams.dead_letter import dead_letter
from streams.metric_rows import RowMapper
from streams.ops_metrics import OpsMetrics
from streams.readiness import LoopProgress
from streams.settings import ClickHouseSettings, KafkaSettings
from streams.topics import Topics

log = logging.getLogger(__name__)


class SinkLoop:
    """Consume inferwatch's topics and store them in ClickHouse."""

    def __init__(self, *, kafka: KafkaSettings, clickhouse: ClickHouseSettings,
                 store: ClickHouseStore, metrics: OpsMetrics | None = None,
                 progress: LoopProgress | None = None) -> None:
        self.metrics = metrics
        self.progress = progress
        self.topics = Topics(kafka.topic_prefix)
        self.mapper = RowMapper(self.topics, kafka.max_record_bytes,
                                clickhouse.private_fields())
        self.store = store
        self.settings = clickhouse
        self.group_id = f"{kafka.topic_prefix}sink"
        self.kafka = kafka
        self._high_water: dict[tuple[str, int], int] = {}
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
                                 listener=_Held(self.progress))
        self._producer = kafka_clients.producer(self.kafka)
        await self._producer.start()
        await self._consumer.start()
        log.info("sink started into %s", self.store.dsn.split("@")[-1])
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(
                    timeout_ms=self.settings.batch_wait_ms, max_records=self.settings.batch_max)
                if batches:
                    await self._write(batches)
                if self.progress is not None:  # _write commits all it was given
                    self.progress.committed()
        finally:
            await self._consumer.stop()
            await self._producer.stop()

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
        headers = [list(m.headers or ()) for m in msgs]
        table, rejected = self.mapper.rows(topic, msgs, headers)
        if rejected and topic != self.topics.outcomes:
            # predictions are dead-lettered by the monitor that reads them too; internal
            # topics are written by us. Counting is enough there; one dead letter per record.
            self.skipped += len(rejected)
            rejected = []
        for rej in rejected:
            dl = dead_letter(rej)
            await self._producer.send_and_wait(self.topics.dead_letter, dl.value, key=dl.key,
                                               headers=dl.headers)
        if table.rows:
            ranges: dict[int, list[int]] = {}
            for m in msgs:
                ranges.setdefault(m.partition, [m.offset, m.offset])[1] = m.offset
            token = topic + "|" + ",".join(f"{p}:{a}-{b}" for p, (a, b) in sorted(ranges.items()))
            retries = self.store.retries
            for side in table.also:
                # before the table whose high-water mark says "done": a crash between the
                # two replays the records, and the side table's token absorbs the repeat
                await asyncio.to_thread(self.store.insert, side.table, side.columns,
                                        side.rows, f"{token}|{side.table}")
            await asyncio.to_thread(self.store.insert, table.table, table.columns, table.rows,
                                    token)
            self.rows_written += len(table.rows)
            if self.metrics is not None:
                self.metrics.events_processed.labels(stage="sink").inc(len(table.rows))
                if self.store.retries > retries:
                    self.metrics.sink_retries.labels(sink="clickhouse").inc(
                        self.store.retries - retries)
        for m in msgs:
            self._high_water[(topic, m.partition)] = m.offset


class _Held(ConsumerRebalanceListener):
    """Tell readiness which partitions the sink holds."""

    def __init__(self, progress: LoopProgress | None) -> None:
        self._progress = progress

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self._progress is not None:
            self._progress.revoked()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self._progress is not None:
            self._progress.assigned(len(assigned))
