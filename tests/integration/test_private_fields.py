"""Private fields never reach ClickHouse: the real broker, the real worker, embedded chDB.

A worker runs with the unit id hashed and feature ``f3`` private. Beside simulated
traffic, one valid request carries a private unit id, a private value of ``f3`` and a
prompt text, and one invalid request carries the same values (it is dead-lettered).
After the sink has stored everything, every column of every table, dumped as text by
ClickHouse, must hold none of the three values; the unit id is stored as its keyed hash,
and the dead letter as its reason and offsets (its bytes stay in Kafka, whose
dead-letter topic has its own retention).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

KEY = "test-hash-key-0123456789"
UNIT = "unit-PRIVATE-7731"
F3 = "7.123456789"  # as the JSON carries it, and as ClickHouse would print it
TEXT = "prompt-PRIVATE-words"
RETENTION_MS = 3_600_000
N = 600


def _request(rid: str, f1: object) -> bytes:
    return json.dumps({
        "id": rid, "ts": time.time(), "model": "churn", "unit_id": UNIT, "text": TEXT,
        "segment": {"region": "eu"},
        "features": {"f0": 45.0, "f1": f1, "f2": 0.5, "f3": float(F3), "f4": 3.0, "f5": 0.0,
                     "f6": 28.0, "f7": 0.0}}).encode()


async def _send(kafka: KafkaSettings, topics: Topics) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.requests, _request("priv-ok", 33.0),
                                     key=b"priv-ok")
        await producer.send_and_wait(topics.requests, _request("priv-bad", "oops"),
                                     key=b"priv-bad")
    finally:
        await producer.stop()


async def _sink_caught_up(kafka: KafkaSettings, records: list, timeout: float = 120  # type: ignore[type-arg]
                          ) -> None:
    """Wait until the sink's group has committed past each of ``records``."""
    last: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        last[tp] = max(last.get(tp, -1), r.offset)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = await admin.list_consumer_group_offsets(f"{kafka.topic_prefix}sink")
            if all(tp in done and done[tp].offset > off for tp, off in last.items()):
                return
            await asyncio.sleep(0.5)
        raise AssertionError("the sink did not catch up")
    finally:
        await admin.close()


async def _retention(kafka: KafkaSettings, topic: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)])
        (resource,) = response.resources
        return next(str(c[1]) for c in resource[4] if c[0] == "retention.ms")
    finally:
        await admin.close()


def _every_table_as_text(store: ClickHouseStore) -> dict[str, str]:
    tables = [t for (t,) in store.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine NOT LIKE '%View'")]
    assert {"predictions", "dead_letters", "alerts", "detector_reports"} <= set(tables)
    return {t: store.client.raw_query(f"SELECT * FROM {t} FORMAT TSVRaw").decode(
        "utf-8", "replace") for t in tables}


def test_private_unit_id_feature_and_text_leave_no_trace_in_clickhouse(
        worker: Worker, env: dict[str, str]) -> None:
    env.update({"INFERWATCH_CLICKHOUSE_UNIT_ID": "hash", "INFERWATCH_CLICKHOUSE_HASH_KEY": KEY,
                "INFERWATCH_CLICKHOUSE_PRIVATE_FEATURES": "f3",
                "INFERWATCH_KAFKA_DEAD_LETTER_RETENTION_MS": str(RETENTION_MS)})
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=N, seed=11, run_id="priv")))
    asyncio.run(_send(kafka, topics))
    preds = asyncio.run(consume(kafka.bootstrap, topics.predictions,
                                until=lambda r: len(r) >= N + 1, timeout=120))
    assert len(preds) == N + 1, worker.tail()
    dead = asyncio.run(consume(kafka.bootstrap, topics.dead_letter,
                               until=lambda r: len(r) >= 1, timeout=60))
    (letter,) = dead
    assert UNIT.encode() in letter.value and F3.encode() in letter.value  # kept in Kafka
    assert asyncio.run(_retention(kafka, topics.dead_letter)) == str(RETENTION_MS)
    asyncio.run(_sink_caught_up(kafka, [*preds, *dead]))
    assert worker.stop() == 0, worker.tail()
    assert KEY not in worker.log.read_text(errors="replace")

    store = ClickHouseStore(f"chdb://{Path(env['INFERWATCH_CLICKHOUSE_PATH'])}")
    try:
        dumps = _every_table_as_text(store)
        assert store.query("SELECT count() FROM predictions") == [(N + 1,)]
        expected = hmac.new(KEY.encode(), UNIT.encode(), hashlib.sha256).hexdigest()
        assert store.query("SELECT unit_id, mapContains(features, 'f3'), "
                           "features['f1'] FROM predictions WHERE request_id = 'priv-ok'"
                           ) == [(expected, 0, 33.0)]
        (row,) = store.query("SELECT source_topic, source_offset, kind, error, size "
                             "FROM dead_letters")
        assert row[0] == topics.requests and row[2] == "invalid" and "got `str`" in row[3]
        assert row[4] == len(letter.value)
    finally:
        store.close()
    # the scan sees what is there (the request ids), and none of the private values
    assert "priv-ok" in dumps["predictions"]
    for table, text in dumps.items():
        for secret in (UNIT, F3, TEXT):
            assert secret not in text, f"{secret!r} found in table {table}"
