"""Read a compacted state topic to its end: the latest value of every key."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings


async def read_latest(settings: KafkaSettings, topic: str, partitions: int,
                      only: Iterable[int] | None = None) -> dict[bytes, bytes]:
    """The last committed value of each key of ``topic`` (no consumer group), in all its
    ``partitions`` or ``only`` those."""
    consumer = kafka_clients.reader(settings)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in (range(partitions) if only is None else only)]
        if not parts:
            return {}
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        latest: dict[bytes, bytes] = {}
        idle = 0
        # a trailing transaction marker may keep the position one short of the end, so
        # a few empty polls in a row also mean "caught up"
        while idle < 3 and await _behind(consumer, parts, ends):
            batches = await consumer.getmany(timeout_ms=300)
            idle = 0 if any(batches.values()) else idle + 1
            for msgs in batches.values():
                for m in msgs:
                    if m.key is None:
                        continue
                    if m.value is None:  # a tombstone: the key is deleted
                        latest.pop(m.key, None)
                    else:
                        latest[m.key] = m.value
        return latest
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, parts: list[TopicPartition],
                  ends: dict[TopicPartition, int]) -> bool:
    for tp in parts:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False
