"""Partitions of produced records: the batch murmur2 against aiokafka's own."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.producer.message_accumulator import BatchBuilder

from streams.kafka.record_writer import murmur2_many, send_records
from streams.kafka.stage import Output


def test_murmur2_many_equals_the_java_clients_hash_for_every_length() -> None:
    rng = np.random.default_rng(7)
    keys = [rng.bytes(int(n)) for n in rng.integers(0, 67, size=3000)]
    keys += [b"", b"\xff" * 5, b"\x80\x00\x7f", "üñî".encode()]
    assert murmur2_many(keys).tolist() == [murmur2(k) for k in keys]


class _Producer:
    def __init__(self) -> None:
        self.sent: dict[tuple[str, int], list[bytes]] = {}

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(1024 * 1024, 0, is_transactional=0)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(6)) if topic == "t" else {0, 1, 2}

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        self.sent.setdefault((topic, partition), []).append(batch)
        return None


def test_records_go_to_the_default_partitioners_partition_in_order() -> None:
    records = [Output("t" if i % 3 else "u", f"req-{i}".encode(), b"v%d" % i)
               for i in range(500)]
    producer = _Producer()
    asyncio.run(send_records(producer, records))  # type: ignore[arg-type]
    expected: dict[tuple[str, int], int] = {}
    for rec in records:
        parts = list(range(6)) if rec.topic == "t" else [0, 1, 2]
        tp = (rec.topic, DefaultPartitioner()(rec.key, parts, parts))
        expected[tp] = expected.get(tp, 0) + 1
    got = {tp: sum(b.record_count() for b in batches) for tp, batches in producer.sent.items()}
    assert got == expected
