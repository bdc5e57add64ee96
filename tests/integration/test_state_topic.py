"""Reading a compacted state topic to its end, on the real broker: latest value per key,
and a tombstone deletes its key (the decision step tombstones SLO hours it no longer keeps)."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka.admin import NewTopic

from streams.kafka import clients as kafka_clients
from streams.kafka.topic_reader import read_latest
from streams.settings import KafkaSettings


async def _write(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    admin = kafka_clients.admin(KafkaSettings(bootstrap=bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                            topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    producer = kafka_clients.producer(KafkaSettings(bootstrap=bootstrap))
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def test_the_latest_value_of_each_key_and_tombstones_delete(bootstrap: str) -> None:
    topic = f"state-{uuid.uuid4().hex[:8]}"
    asyncio.run(_write(bootstrap, topic, [
        (b"churn", b"1"), (b"\x00slo\x00churn\x00A\x005", b"hour 5"),
        (b"churn", b"2"), (b"\x00slo\x00churn\x00A\x006", b"hour 6"),
        (b"\x00slo\x00churn\x00A\x005", None),  # hour 5 fell out: tombstoned
        (b"fraud", b"1")]))
    latest = asyncio.run(read_latest(KafkaSettings(bootstrap=bootstrap), topic, 2))
    assert latest == {b"churn": b"2", b"\x00slo\x00churn\x00A\x006": b"hour 6",
                      b"fraud": b"1"}
