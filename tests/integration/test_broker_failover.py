"""SIGKILL the broker that leads most request partitions, mid-stream, on a three-node
cluster: every request still gets exactly one prediction and one ClickHouse row, and the
same worker process carries on (no restart)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import msgspec

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, SimulationResult, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.events import Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume
from tests.integration.script_kafka import ScriptKafka, env_of

N, RATE = 4000, 400


async def _leader_of_most(kafka: KafkaSettings, topic: str) -> tuple[int, int]:
    """The node that leads most partitions of ``topic``, and how many it leads."""
    admin = kafka_clients.admin(kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    leaders = Counter(p["leader"] for p in described["partitions"])
    assert all(len(p["isr"]) == 3 for p in described["partitions"]), described
    return leaders.most_common(1)[0]


def test_a_killed_leader_loses_and_doubles_nothing(
        kafka_cluster: ScriptKafka, worker_env: dict[str, str], tmp_path: Path) -> None:
    """Slow by design (about 35 s): a three-node cluster, a partition leader killed while
    traffic flows, and the wait for the new leader and for every request's prediction.
    """
    kafka = kafka_cluster.settings(f"f{uuid.uuid4().hex[:8]}.", replication_factor=3)
    assert kafka.min_isr == 2
    topics = Topics(kafka.topic_prefix)
    worker = Worker({**worker_env, **env_of(kafka)}, tmp_path / "worker.log")
    try:
        worker.start(timeout=150)
        victim, led = asyncio.run(_leader_of_most(kafka, topics.requests))
        sent: list[SimulationResult] = []
        producer = threading.Thread(target=lambda: sent.append(asyncio.run(simulate(
            kafka, Scenario(count=N, rate=RATE, seed=11, run_id="failover")))))
        producer.start()
        asyncio.run(consume(kafka, topics.predictions, until=lambda r: len(r) >= N // 4,
                            timeout=90))
        killed_at = time.time()
        kafka_cluster.kill(victim)
        producer.join(timeout=180)
        all_sent = time.time() - killed_at
        assert sent and sent[0].requests == N

        asyncio.run(consume(kafka, topics.predictions,
                            until=lambda r: len({m.key for m in r}) >= N, timeout=180))
        raw = asyncio.run(consume(kafka, topics.predictions, until=lambda r: False, timeout=3))
        ids = [msgspec.json.decode(m.value, type=Prediction).request_id for m in raw]
        assert set(ids) == {f"failover-{i:09d}" for i in range(N)}, worker.tail()
        assert len(ids) == N  # none twice: the transactions of the dead leader's era aborted
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()

        # the stall: the longest pause between predictions (their Kafka timestamps) after
        # the kill, while requests kept coming at RATE per second
        stamps = sorted(m.timestamp / 1000 for m in raw)
        after = [t for t in stamps if t >= killed_at - 1]
        stall, resumed = max((b - a, b) for a, b in itertools.pairwise(after))
        print(f"\nkilled node {victim} (leader of {led}/6 request partitions): longest "
              f"pause in predictions {stall:.1f} s, ending {resumed - killed_at:.1f} s after "
              f"the kill; every request sent after {all_sent:.1f} s, the last predicted "
              f"after {stamps[-1] - killed_at:.1f} s")

        time.sleep(3)  # the sink drains
        assert worker.stop() == 0, worker.tail()
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()
    store = ClickHouseStore(f"chdb://{Path(worker_env['INFERWATCH_CLICKHOUSE_PATH'])}")
    try:
        (count, distinct), = store.query("SELECT count(), uniqExact(request_id) FROM predictions")
        assert (count, distinct) == (N, N)
    finally:
        store.close()
