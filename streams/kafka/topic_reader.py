"""The one topic reader: a topic read outside any consumer group, up to the end it had when asked.

Two folds of what it reads: :func:`read_latest` keeps the last value of every key (a
compacted state topic: the join's, the decision step's, the open alerts), and
:func:`read_values` keeps every value, or the last ``tail`` of each partition (what the
command line shows: windows, alerts, experiment decisions; :func:`decode_values` turns
them into events). :func:`partition_counts` asks
the broker how many partitions a topic has, through the admin client: a plain consumer's
metadata does not know a topic it is not subscribed to.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterable, MutableMapping, Sequence
from contextlib import aclosing
from typing import Any, Protocol, TypeVar

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import decoder_for

#: empty polls in a row that also mean "caught up": a trailing transaction marker may keep
#: the position one short of the end the broker reported
_IDLE_POLLS = 3
_POLL_MS = 300

E = TypeVar("E")


class KeyedRecord(Protocol):
    """What the folds read of a record: its key and value (None: a tombstone)."""

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


def first_offset(begin: int, end: int, tail: int | None) -> int:
    """Where reading a partition starts: its beginning, or ``tail`` records before its end.

    >>> first_offset(10, 100, None), first_offset(10, 100, 5), first_offset(10, 12, 5)
    (10, 95, 10)
    """
    return max(begin, end - tail) if tail else begin


def fold_latest(latest: MutableMapping[bytes, bytes], records: Iterable[KeyedRecord]) -> None:
    """Keep in ``latest`` the last value of each key of ``records``; a tombstone deletes
    its key, and a record without a key is nobody's state."""
    for record in records:
        if record.key is None:
            continue
        if record.value is None:
            latest.pop(record.key, None)
        else:
            latest[record.key] = record.value


def decode_values(values: Iterable[bytes], kind: type[E] | Any) -> list[Any]:
    """Each of ``values`` that decodes as a ``kind`` (an event type, or a topic's tagged
    union such as :data:`~streams.wire.events.ModelUpdate`), in order; the others are
    skipped.

    >>> decode_values([b'{"a": 1}', b"not json"], dict)
    [{'a': 1}]
    """
    decode = decoder_for(kind)
    out = []
    for raw in values:
        try:
            out.append(decode(raw))
        except msgspec.MsgspecError:
            continue  # an undecodable record is the dead-letter topic's business
    return out


async def read_latest(settings: KafkaSettings, topic: str, partitions: int,
                      only: Iterable[int] | None = None) -> dict[bytes, bytes]:
    """The last committed value of each key of ``topic`` (no consumer group), in all its
    ``partitions`` or ``only`` those."""
    latest: dict[bytes, bytes] = {}
    parts = range(partitions) if only is None else only
    async with aclosing(_batches(settings, topic, parts)) as batches:
        async for records in batches:
            fold_latest(latest, records)
    return latest


async def read_values(settings: KafkaSettings, topic: str, partitions: int, *,
                      tail: int | None = None, deadline_s: float = 15.0) -> list[bytes]:
    """The non-empty values of ``topic`` (the last ``tail`` per partition), up to its end
    now, read for at most ``deadline_s``."""
    values: list[bytes] = []
    async with aclosing(_batches(settings, topic, range(partitions), tail=tail,
                                 deadline_s=deadline_s)) as batches:
        async for records in batches:
            values.extend(r.value for r in records if r.value)
    return values


async def partition_counts(settings: KafkaSettings, topics: Sequence[str]) -> dict[str, int]:
    """The partition count of each of ``topics``, as the broker reports it (0: missing)."""
    admin = kafka_clients.admin(settings)
    try:
        await admin.start()
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described}


async def _batches(settings: KafkaSettings, topic: str, partitions: Iterable[int], *,
                   tail: int | None = None, deadline_s: float | None = None
                   ) -> AsyncGenerator[list[KeyedRecord], None]:
    """The records of ``partitions`` of ``topic`` as they come, until each partition is
    read to the end it had when asked (or past ``deadline_s``)."""
    parts = [TopicPartition(topic, p) for p in partitions]
    if not parts:
        return
    consumer = kafka_clients.reader(settings)
    await consumer.start()
    try:
        consumer.assign(parts)
        begins, ends = await consumer.beginning_offsets(parts), await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, first_offset(begins[tp], ends[tp], tail))
        deadline = float("inf") if deadline_s is None else time.monotonic() + deadline_s
        idle = 0
        while (idle < _IDLE_POLLS and time.monotonic() < deadline
               and await _behind(consumer, parts, ends)):
            batches = await consumer.getmany(*parts, timeout_ms=_POLL_MS)
            idle = 0 if any(batches.values()) else idle + 1
            for records in batches.values():
                yield list(records)
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, parts: list[TopicPartition],
                  ends: dict[TopicPartition, int]) -> bool:
    for tp in parts:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False
