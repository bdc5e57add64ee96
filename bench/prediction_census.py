"""Who got answered, how often, how fast: the predictions topic read by request id.

The operations benchmarks check that nothing is lost or doubled by counting the
predictions of every request id they sent (read_committed, as any downstream reader
would), read the latency parts the inference stage stamped, and time the gaps in the
output stream. Consumer lag comes from the group's committed offsets.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
from aiokafka import TopicPartition

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings


class Latency(msgspec.Struct):
    """The latency parts the benchmarks read."""

    inference_s: float
    total_s: float
    queue_s: float = 0.0


class Seen(msgspec.Struct):
    """The fields of a Prediction the benchmarks read."""

    request_id: str
    ts: float
    latency: Latency
    batch_size: int = 1
    device: str = ""


_decode = msgspec.json.Decoder(Seen).decode


@dataclass(frozen=True, slots=True)
class Arrival:
    """One prediction as this reader received it."""

    at: float  # time.time() when the reader got it
    partition: int
    seen: Seen


class Follower:
    """Read ``topic`` from its start into :attr:`arrivals` until stopped."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.kafka = kafka
        self.topic = topic
        self.arrivals: list[Arrival] = []

    async def run(self, stop: asyncio.Event) -> None:
        consumer = kafka_clients.reader(self.kafka, self.topic)
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=20_000)
                now = time.time()
                for tp, msgs in batches.items():
                    self.arrivals.extend(Arrival(now, tp.partition, _decode(m.value or b"{}"))
                                         for m in msgs)
        finally:
            await consumer.stop()

    async def until(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` predictions arrived; False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True


@dataclass(frozen=True)
class Census:
    """Predictions per request id against the ids that were sent."""

    sent: int
    answered: int
    missing: int
    doubled: int
    foreign: int

    @property
    def exact(self) -> bool:
        return self.missing == 0 and self.doubled == 0 and self.foreign == 0


def census(sent_ids: Iterable[str], arrivals: Iterable[Arrival]) -> Census:
    """Count each sent id's predictions: none is missing, one is doubled, another foreign."""
    counts = Counter(a.seen.request_id for a in arrivals)
    sent = set(sent_ids)
    return Census(sent=len(sent), answered=sum(1 for i in sent if counts.get(i, 0) >= 1),
                  missing=sum(1 for i in sent if i not in counts),
                  doubled=sum(1 for i, c in counts.items() if c > 1 and i in sent),
                  foreign=sum(1 for i in counts if i not in sent))


def ids(run_id: str, count: int) -> list[str]:
    """The ids :class:`bench.steady_traffic.SteadyTraffic` gives its first ``count`` requests."""
    return [f"{run_id}-{i:09d}" for i in range(count)]


async def lag(kafka: KafkaSettings, group: str, topic: str) -> int:
    """Records of ``topic`` that ``group`` has not committed (a transaction's end marker
    counts one until the next record)."""
    admin = kafka_clients.admin(kafka)
    consumer = kafka_clients.reader(kafka)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics([topic])
        parts = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(parts)
        return sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else 0))
                   for tp in parts)
    finally:
        await consumer.stop()
        await admin.close()

