"""The metrics sink's loop, run against an in-memory consumer, producer and ClickHouse client.

The store is the real :class:`ClickHouseStore` (its retries, its tokens) over a fake
driver; the clock is injected. What the loop promises: one insert per table per batch
under a token made of the batch's offsets, offsets committed only after the insert
returned, nothing at or below the stored high-water mark written again, nothing more
fetched while an insert retries, batches gathered until ``batch_max`` records or until
the oldest has waited ``batch_wait_ms``, undecodable outcomes dead-lettered with their
reason and offset, and what is held written before a partition goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord

from streams.kafka import clients as kafka_clients
from streams.settings import ClickHouseSettings, KafkaSettings
from streams.storage import clickhouse_store
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.sink_loop import SinkLoop
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import LoopProgress
from streams.wire.codec import encode
from streams.wire.dead_letter import H_ERROR, H_KIND, H_OFFSET, H_PARTITION, H_TOPIC
from streams.wire.events import Outcome

KAFKA = KafkaSettings(topic_prefix="p.")
OUT0, OUT1 = TopicPartition("p.outcomes", 0), TopicPartition("p.outcomes", 1)
PRED0 = TopicPartition("p.predictions", 0)


def outcomes(tp: TopicPartition, *offsets: int, value: bytes | None = None
             ) -> list[ConsumerRecord]:
    return [ConsumerRecord(tp.topic, tp.partition, o, 0, 0, f"r{o}".encode(),
                           value if value is not None else encode(
                               Outcome(request_id=f"r{o}", ts=float(o), kind="label",
                                       value=1.0)),
                           None, 0, 0, ()) for o in offsets]


class FakeDriver:
    """clickhouse-connect's client as the store uses it; ``failures`` inserts raise first."""

    def __init__(self, log: list[Any], failures: int = 0) -> None:
        self.log = log
        self.failures = failures
        self.attempts: list[tuple[str, str]] = []

    def insert(self, table: str, data: list[list[Any]], *, column_names: list[str],
               column_oriented: bool, settings: dict[str, Any]) -> None:
        token = settings["insert_deduplication_token"]
        self.attempts.append((table, token))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection reset by ClickHouse")
        offsets = data[column_names.index("src_offset")]
        self.log.append(("insert", table, token, list(offsets)))


class Store(ClickHouseStore):
    """The real store on a fake driver, with high-water marks as a dict."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, driver: FakeDriver,
                 high_water: dict[str, dict[int, int]], sleep: Callable[[float], None]) -> None:
        monkeypatch.setattr(clickhouse_store, "_client", lambda dsn, credentials: driver)
        super().__init__("chdb:///nowhere", sleep=sleep)
        self.marks = high_water

    def apply_schema(self) -> list[int]:
        return []

    def high_water(self, table: str) -> dict[int, int]:
        return self.marks.get(table, {})


class FakeConsumer:
    """Polls from a script of (seconds the clock moves, batch), then sets ``stop``."""

    def __init__(self, script: list[Any], stop: asyncio.Event, clock: list[float],
                 log: list[Any], commit_fails: bool = False) -> None:
        self.script, self.stop_event, self.clock, self.log = script, stop, clock, log
        self.commit_fails = commit_fails
        self.polls: list[tuple[int, int]] = []

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.topics, self.listener = topics, listener

    async def start(self) -> None:
        await self.listener.on_partitions_assigned([OUT0, OUT1])

    async def stop(self) -> None:
        pass

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict:
        self.polls.append((timeout_ms, max_records))
        if not self.script:
            self.stop_event.set()
            return {}
        step = self.script.pop(0)
        if callable(step):
            return await step(self.listener)
        advance, batch = step
        self.clock[0] += advance
        return batch

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_fails:
            raise CommitFailedError("the group rebalanced\nmore detail")
        self.log.append(("commit", dict(offsets)))


class FakeProducer:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send_and_wait(self, topic: str, value: bytes | None, *, key: bytes | None,
                            headers: list[tuple[str, bytes]]) -> None:
        self.log.append(("dead letter", topic, key, dict(headers)))


class Harness:
    """A sink loop wired to the fakes, on a clock that only the script moves."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, script: list[Any], *,
                 batch_max: int = 100, batch_wait_ms: int = 500, failures: int = 0,
                 high_water: dict[str, dict[int, int]] | None = None,
                 commit_fails: bool = False, **sink_args: Any) -> None:
        self.stop = asyncio.Event()
        self.log: list[Any] = []
        self.clock = [1000.0]
        self.consumer = FakeConsumer(script, self.stop, self.clock, self.log, commit_fails)
        self.driver = FakeDriver(self.log, failures)
        self.polls_seen_by_retries: list[int] = []

        def sleep(seconds: float) -> None:
            self.polls_seen_by_retries.append(len(self.consumer.polls))
            time.sleep(0.02)  # time enough for a loop that did not wait to poll again

        self.store = Store(monkeypatch, self.driver, high_water or {}, sleep)
        monkeypatch.setattr(kafka_clients, "consumer", lambda settings, group: self.consumer)
        monkeypatch.setattr(kafka_clients, "producer", lambda settings: FakeProducer(self.log))
        self.sink = SinkLoop(kafka=KAFKA, store=self.store,
                             clickhouse=ClickHouseSettings(batch_max=batch_max,
                                                           batch_wait_ms=batch_wait_ms),
                             clock=lambda: self.clock[0], **sink_args)

    async def run(self) -> None:
        await asyncio.wait_for(self.sink.run(self.stop), timeout=5)


async def test_a_batch_is_inserted_under_its_offsets_then_committed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    progress = LoopProgress("sink", clock=lambda: 0.0)
    h = Harness(monkeypatch, [(0.0, {OUT0: outcomes(OUT0, 3, 4, 5), OUT1: outcomes(OUT1, 7)}),
                              (0.5, {})], progress=progress)
    await h.run()
    assert {"p.outcomes", "p.dead-letter"} <= set(h.consumer.topics)
    assert h.log == [("insert", "outcomes", "p.outcomes|0:3-5,1:7-7", [3, 4, 5, 7]),
                     ("commit", {OUT0: 6, OUT1: 8})]
    assert h.sink.rows_written == 4
    assert progress.partitions == 2


async def test_a_replay_writes_nothing_at_or_below_the_stored_high_water_mark(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, [(0.0, {OUT0: outcomes(OUT0, 3, 4, 5), OUT1: outcomes(OUT1, 7)}),
                              (0.5, {})], high_water={"outcomes": {0: 4, 1: 7}})
    await h.run()
    # the token names only what is written, so it matches the first run's insert of it
    assert h.log == [("insert", "outcomes", "p.outcomes|0:5-5", [5]),
                     ("commit", {OUT0: 6, OUT1: 8})]


async def test_a_retried_insert_keeps_its_token_and_holds_back_the_next_poll(
        monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = OpsMetrics()
    h = Harness(monkeypatch, [(0.0, {OUT0: outcomes(OUT0, 0, 1)}), (0.5, {}),
                              (0.0, {OUT0: outcomes(OUT0, 2)}), (0.5, {})],
                failures=2, metrics=metrics)
    await h.run()
    assert h.driver.attempts == [("outcomes", "p.outcomes|0:0-1")] * 3 + [
        ("outcomes", "p.outcomes|0:2-2")]
    # both retries happened while the second poll's batch was still waiting to be fetched
    assert h.polls_seen_by_retries == [2, 2]
    assert h.log == [("insert", "outcomes", "p.outcomes|0:0-1", [0, 1]), ("commit", {OUT0: 2}),
                     ("insert", "outcomes", "p.outcomes|0:2-2", [2]), ("commit", {OUT0: 3})]
    assert metrics.registry.get_sample_value("inferwatch_sink_retries_total",
                                             {"sink": "clickhouse"}) == 2


async def test_records_are_held_until_batch_max_or_the_oldest_has_waited(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, [(0.0, {OUT0: outcomes(OUT0, 0, 1)}),
                              (0.25, {OUT1: outcomes(OUT1, 0)}),  # 3 = batch_max: written
                              (0.0, {OUT0: outcomes(OUT0, 2)}),
                              (0.25, {}),
                              (0.25, {})],  # the oldest has waited 0.5 s: written
                batch_max=3, batch_wait_ms=500)
    await h.run()
    # (timeout_ms, max_records): a poll asks for no more than the batch lacks, and waits
    # no longer than the oldest held record may still wait
    assert h.consumer.polls == [(500, 3), (500, 1), (500, 3), (500, 2), (250, 2), (500, 3)]
    assert h.log == [("insert", "outcomes", "p.outcomes|0:0-1,1:0-0", [0, 1, 0]),
                     ("commit", {OUT0: 2, OUT1: 1}),
                     ("insert", "outcomes", "p.outcomes|0:2-2", [2]), ("commit", {OUT0: 3})]


async def test_undecodable_outcomes_are_dead_lettered_with_reason_and_offset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, [(0.0, {OUT1: outcomes(OUT1, 8) + outcomes(OUT1, 9, value=b"{")}),
                              (0.5, {})])
    await h.run()
    (_, topic, key, headers), insert, commit = h.log
    assert (topic, key) == ("p.dead-letter", b"r9")
    assert (headers[H_TOPIC], headers[H_PARTITION], headers[H_OFFSET]) == (
        b"p.outcomes", b"1", b"9")
    assert headers[H_KIND] == b"malformed" and headers[H_ERROR]
    assert insert == ("insert", "outcomes", "p.outcomes|1:8-9", [8])
    assert commit == ("commit", {OUT1: 10})


async def test_undecodable_predictions_are_counted_not_dead_lettered_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, [(0.0, {PRED0: outcomes(PRED0, 4, value=b"not json")}),
                              (0.5, {})])
    await h.run()
    assert h.log == [("commit", {PRED0: 5})]  # the monitor dead-letters them already
    assert h.sink.skipped == 1


async def test_undecodable_records_it_does_not_dead_letter_are_a_metric_per_topic(
        monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = OpsMetrics()
    h = Harness(monkeypatch, [(0.0, {PRED0: outcomes(PRED0, 4, 5, value=b"not json")}),
                              (0.5, {})], metrics=metrics)
    await h.run()
    assert h.sink.skipped == 2
    assert metrics.registry.get_sample_value("inferwatch_sink_skipped_records_total",
                                             {"topic": "p.predictions"}) == 2
    assert metrics.registry.get_sample_value("inferwatch_sink_skipped_records_total",
                                             {"topic": "p.outcomes"}) is None


async def test_what_is_held_is_written_before_a_partition_goes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def revoke(listener: Any) -> dict:
        h.log.append("revoking")
        await listener.on_partitions_revoked([OUT0])
        h.log.append("revoked")
        return {}

    h = Harness(monkeypatch, [(0.0, {OUT0: outcomes(OUT0, 0)}), revoke])
    await h.run()
    assert h.log == ["revoking", ("insert", "outcomes", "p.outcomes|0:0-0", [0]),
                     ("commit", {OUT0: 1}), "revoked"]


async def test_a_commit_lost_to_a_rebalance_does_not_stop_the_sink(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, [(0.0, {OUT0: outcomes(OUT0, 0)}), (0.5, {}),
                              (0.0, {OUT0: outcomes(OUT0, 1)}), (0.5, {})], commit_fails=True)
    await h.run()
    assert [entry[3] for entry in h.log] == [[0], [1]]  # it went on to the next batch
