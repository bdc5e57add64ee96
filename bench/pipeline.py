"""End-to-end throughput beside the raw aiokafka consume rate of the same topic, in one run.

Preloads N requests into a fresh topic set and measures the raw ceiling (aiokafka
``getmany``, no decoding) on it; then times the real worker, from "loops started" until
every stage has committed the end of its input, on three paths:

- ``inference``: requests → predictions (the role alone);
- ``predictions``: monitor, decide and sink alone, on the predictions topic the inference
  run filled, beside raw ``getmany`` of that predictions topic;
- ``pipeline``: inference, monitor, decide and sink in one process, on a second topic set.

Prints each path's share of raw and exits 1 when one falls below ``--tolerance`` (80%)
of its recorded figure in ``bench/recorded.json`` (``--record`` rewrites that file).
``--profile DIR`` attaches py-spy to each timed worker and prints its top frames.
Needs the broker that ``bench/run.sh`` starts.

Usage: PYTHONPATH=. python bench/pipeline.py --n 100000 [--profile var/profiles]
       PYTHONPATH=. python bench/pipeline.py --n 100000 --roles inference/monitor,decide,sink
(``--roles`` times one ad-hoc set of roles instead; ``/`` splits them over processes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.profile_top import report
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.topics import Topics

REPO = Path(__file__).resolve().parent.parent
RECORDED = Path(__file__).resolve().parent / "recorded.json"
PATHS = {"inference": "inference", "predictions": "monitor,decide,sink",
         "pipeline": "inference,monitor,decide,sink"}


async def raw_rate(bootstrap: str, topic: str, partitions: int,
                   transactional: bool = False) -> tuple[int, float]:
    """Records and seconds to read ``topic`` whole with getmany, no decoding.

    A ``transactional`` topic ends in a commit marker, which takes an offset but is no
    record."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                isolation_level="read_committed",
                                max_partition_fetch_bytes=8 * 1024 * 1024,
                                fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        last = {tp: ends[tp] - 1 - transactional if ends[tp] else -1 for tp in parts}
        seen = {tp: -1 for tp in parts}
        n, start = 0, time.perf_counter()
        while any(seen[tp] < last[tp] for tp in parts):
            for tp, msgs in (await consumer.getmany(timeout_ms=1000, max_records=10000)).items():
                n += len(msgs)
                seen[tp] = msgs[-1].offset if msgs else seen[tp]
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


def timed(roles: str, prefix: str, tmp: Path, profile: Path | None, label: str) -> float:
    """Seconds from "every loop started" until each stage committed the end of its input."""
    bootstrap = os.environ["INFERWATCH_KAFKA_BOOTSTRAP"]
    topics = Topics(prefix)
    env = {**os.environ, "PYTHONPATH": str(REPO), "INFERWATCH_KAFKA_TOPIC_PREFIX": prefix,
           "INFERWATCH_CLICKHOUSE_PATH": str(tmp / f"chdb-{label}"),
           "INFERWATCH_INFERENCE_MODEL_DIR": os.environ.get(
               "INFERWATCH_INFERENCE_MODEL_DIR", str(REPO / "var" / "models"))}
    logs: list[Path] = []
    workers: list[subprocess.Popen[bytes]] = []
    for i, group in enumerate(roles.split("/")):  # "a,b/c,d": one process per group
        logs.append(tmp / f"{label}-worker{i}.log")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--roles", group], env=env, cwd=tmp,
            stdout=logs[-1].open("wb"), stderr=subprocess.STDOUT))
    groups = []
    if "inference" in roles:
        groups.append((f"{prefix}inference", topics.requests))
    if "monitor" in roles:
        groups.append((f"{prefix}monitor", topics.predictions))
    if "sink" in roles:
        groups.append((f"{prefix}sink", topics.predictions))
    spies: list[subprocess.Popen[bytes]] = []
    try:
        wanted = len(roles.replace("/", ",").split(","))
        while sum(log.read_text(errors="replace").count(" started") for log in logs) < wanted:
            for log, worker in zip(logs, workers, strict=True):
                if worker.poll() is not None:
                    raise SystemExit(log.read_text()[-3000:])
            time.sleep(0.05)
        if profile is not None:
            spies = [subprocess.Popen(
                [shutil.which("py-spy") or "py-spy", "record", "--format", "raw", "--rate", "200",
                 "--nonblocking", "-o", str(profile / f"{label}-{i}.txt"), "--pid",
                 str(w.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i, w in enumerate(workers)]
        start = time.perf_counter()
        parts = topics.partitions("requests")  # predictions has as many
        while not all(asyncio.run(committed_to_end(bootstrap, g, t, parts)) for g, t in groups):
            time.sleep(0.1)
        return time.perf_counter() - start
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(60)


def fill(bootstrap: str, n: int) -> tuple[str, float]:
    """A fresh topic set with ``n`` requests; its prefix and the raw rate of requests."""
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix)
    topics = Topics(prefix)
    asyncio.run(create_topics(kafka))
    asyncio.run(simulate(kafka, Scenario(count=n, seed=11, run_id="bench")))
    raw_n, raw_s = asyncio.run(raw_rate(bootstrap, topics.requests,
                                        topics.partitions("requests")))
    return prefix, raw_n / raw_s


def run_paths(n: int, profile: Path | None) -> dict[str, dict[str, float]]:
    """The three paths, each as events/s, the raw rate beside it, and their ratio."""
    bootstrap = os.environ["INFERWATCH_KAFKA_BOOTSTRAP"]
    tmp = Path(tempfile.mkdtemp(prefix="iw-bench-"))
    out = {}
    prefix, raw = fill(bootstrap, n)
    secs = timed(PATHS["inference"], prefix, tmp, profile, "inference")
    out["inference"] = {"eps": n / secs, "raw_eps": raw}
    # the inference run filled predictions: the monitors and the sink now read it alone
    predictions = Topics(prefix).predictions
    raw_n, raw_s = asyncio.run(raw_rate(bootstrap, predictions,
                                        Topics(prefix).partitions("predictions"), True))
    secs = timed(PATHS["predictions"], prefix, tmp, profile, "predictions")
    out["predictions"] = {"eps": raw_n / secs, "raw_eps": raw_n / raw_s}
    prefix, raw = fill(bootstrap, n)
    secs = timed(PATHS["pipeline"], prefix, tmp, profile, "pipeline")
    out["pipeline"] = {"eps": n / secs, "raw_eps": raw}
    for figures in out.values():
        figures["ratio"] = figures["eps"] / figures["raw_eps"]
    return out


def guard(ratios: dict[str, float], recorded: dict[str, float], tolerance: float) -> list[str]:
    """The paths whose ratio fell below ``tolerance`` of the recorded one, described.

    >>> guard({"inference": 0.15, "pipeline": 0.1}, {"inference": 0.2, "pipeline": 0.1}, 0.8)
    ['inference: 0.150 < 0.8 x recorded 0.200']
    """
    return [f"{path}: {ratio:.3f} < {tolerance} x recorded {recorded[path]:.3f}"
            for path, ratio in ratios.items()
            if path in recorded and ratio < tolerance * recorded[path]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--roles", help="time only these roles (ad hoc; no guard)")
    ap.add_argument("--profile", type=Path, help="py-spy each timed worker into this folder")
    ap.add_argument("--tolerance", type=float, default=0.8)
    ap.add_argument("--record", action="store_true", help="write the ratios to recorded.json")
    args = ap.parse_args()
    os.environ.setdefault("INFERWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.roles:
        prefix, raw = fill(os.environ["INFERWATCH_KAFKA_BOOTSTRAP"], args.n)
        tmp = Path(tempfile.mkdtemp(prefix="iw-bench-"))
        eps = args.n / timed(args.roles, prefix, tmp, args.profile, "adhoc")
        print(f"events={args.n} raw_getmany={raw:,.0f}/s "
              f"pipeline[{args.roles}]={eps:,.0f}/s ratio={eps / raw:.3f}")
        return
    figures = run_paths(args.n, args.profile)
    for path, f in figures.items():
        print(f"{path:<12} [{PATHS[path]}] {f['eps']:>9,.0f}/s  raw_getmany {f['raw_eps']:>9,.0f}/s"
              f"  ratio={f['ratio']:.3f}")
    if args.profile is not None:
        for prof in sorted(args.profile.glob("*.txt")):
            print(report(prof))
    ratios = {path: round(f["ratio"], 4) for path, f in figures.items()}
    if args.record:
        RECORDED.write_text(json.dumps(ratios, indent=2) + "\n")
        print(f"recorded in {RECORDED}")
        return
    recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    failed = guard(ratios, recorded, args.tolerance)
    for line in failed:
        print(f"REGRESSION {line}")
    if failed:
        sys.exit(1)
    print(f"no ratio below {args.tolerance} x {RECORDED.name}: {recorded}")


if __name__ == "__main__":
    main()
