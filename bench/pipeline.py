"""End-to-end throughput beside the raw aiokafka consume rate of the same topic, in one run.

Preloads N requests into a fresh topic set, measures the raw ceiling (aiokafka
``getmany``, no decoding) on that requests topic, then starts the real worker and times
how long until every stage has committed the end of its input: inference (requests),
monitor (predictions), sink (predictions and the rest). Needs the broker that
``bench/run.sh`` starts.

Usage: PYTHONPATH=. python bench/pipeline.py --n 100000 [--roles inference,monitor,decide,sink]
(``--roles inference/monitor,decide,sink`` runs two worker processes, one per group)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka_clients import create_topics
from streams.settings import KafkaSettings
from streams.simulator import Scenario, simulate
from streams.topics import Topics

REPO = Path(__file__).resolve().parent.parent


async def raw_rate(bootstrap: str, topic: str, partitions: int) -> tuple[int, float]:
    """Records and seconds to read ``topic`` whole with getmany, no decoding."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 1024 * 1024,
                                fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        total, n = sum(ends.values()), 0
        start = time.perf_counter()
        while n < total:
            for msgs in (await consumer.getmany(timeout_ms=1000, max_records=10000)).values():
                n += len(msgs)
        return n, time.perf_counter() - start
    finally:
        await consumer.stop()


async def committed_to_end(bootstrap: str, group: str, topic: str, partitions: int) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            done = await consumer.committed(tp) or 0
            # a trailing transaction marker sits one past the last record
            if done < ends[tp] - 1 and ends[tp] > 0:
                return False
        return True
    finally:
        await consumer.stop()


def run(n: int, roles: str) -> dict[str, float]:
    bootstrap = os.environ.get("INFERWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix)
    topics = Topics(prefix)
    asyncio.run(create_topics(kafka))
    asyncio.run(simulate(kafka, Scenario(count=n, seed=11, run_id="bench")))
    raw_n, raw_s = asyncio.run(raw_rate(bootstrap, topics.requests,
                                        topics.partitions("requests")))

    tmp = Path(tempfile.mkdtemp(prefix="iw-bench-"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "INFERWATCH_KAFKA_BOOTSTRAP": bootstrap,
           "INFERWATCH_KAFKA_TOPIC_PREFIX": prefix,
           "INFERWATCH_CLICKHOUSE_PATH": str(tmp / "chdb"),
           "INFERWATCH_INFERENCE_MODEL_DIR": os.environ.get(
               "INFERWATCH_INFERENCE_MODEL_DIR", str(REPO / "var" / "models"))}
    # "a,b/c,d" runs two worker processes, one per role group
    logs, workers = [], []
    for i, group in enumerate(roles.split("/")):
        logs.append(tmp / f"worker{i}.log")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--roles", group], env=env, cwd=tmp,
            stdout=logs[-1].open("wb"), stderr=subprocess.STDOUT))
    groups = [(f"{prefix}inference", topics.requests)]
    if "monitor" in roles:
        groups.append((f"{prefix}monitor", topics.predictions))
    if "sink" in roles:
        groups.append((f"{prefix}sink", topics.predictions))
    try:
        wanted = len(roles.replace("/", ",").split(","))
        while sum(log.read_text(errors="replace").count(" started") for log in logs) < wanted:
            for log, worker in zip(logs, workers, strict=True):
                if worker.poll() is not None:
                    raise SystemExit(log.read_text()[-3000:])
            time.sleep(0.05)
        start = time.perf_counter()
        parts = topics.partitions("requests")  # predictions has as many
        while not all(asyncio.run(committed_to_end(bootstrap, g, t, parts)) for g, t in groups):
            time.sleep(0.2)
        pipeline_s = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(60)
    return {"n": n, "raw_eps": raw_n / raw_s, "pipeline_eps": n / pipeline_s,
            "ratio": (n / pipeline_s) / (raw_n / raw_s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--roles", default="inference,monitor,decide,sink")
    args = ap.parse_args()
    r = run(args.n, args.roles)
    print(f"events={r['n']} raw_getmany={r['raw_eps']:,.0f}/s "
          f"pipeline[{args.roles}]={r['pipeline_eps']:,.0f}/s ratio={r['ratio']:.3f}")


if __name__ == "__main__":
    main()
