"""Produce retries and latency of a fresh worker under steady traffic, in one run.

One worker with the roles that write in transactions (inference → predictions, monitor →
monitor-summaries, join → join-state, sink) serves ``--rate`` requests a second for
``--seconds``, with ``--outcome-share`` of them labelled so the join works too. Counted
from the worker's log: aiokafka's ``Got error produce response ... retrying`` warnings,
per error and topic, and per 10,000 requests. Read from the predictions topic: p50/p99
of ``total_s`` and ``queue_s`` over the first ``--first-s`` seconds of traffic (the
worker still warm from its start, or not) and over the rest (steady state).

Usage: bench/with_kafka.sh bench.produce_retries --rate 400 --seconds 60
       bench/with_kafka.sh bench.produce_retries --worker-code /tmp/base   (older code)
Before and after side by side: bench/retries_before_after.sh (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

from bench.prediction_census import Arrival, Follower
from bench.steady_traffic import SteadyTraffic
from bench.worker_process import WorkerProcess, bootstrap
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.wire.topics import Topics

ROLES = "inference,monitor,join,sink"
_RETRY = re.compile(r"Got error produce response on topic-partition TopicPartition\("
                    r"topic='(?P<topic>[^']+)'.*retrying\. Error: "
                    r"(?:<class ')?(?:aiokafka\.errors\.)?(?P<error>\w+)")


def retries(log: str, prefix: str) -> Counter[tuple[str, str]]:
    """The produce retries in a worker's log, counted per (error, topic without prefix).

    >>> line = ("WARNING aiokafka.producer.sender Got error produce response on "
    ...         "topic-partition TopicPartition(topic='x.predictions', partition=3), "
    ...         "retrying. Error: <class 'aiokafka.errors.NotEnoughReplicasError'>")
    >>> retries(line + "\\n" + line, "x.")
    Counter({('NotEnoughReplicasError', 'predictions'): 2})
    """
    return Counter((m["error"], m["topic"].removeprefix(prefix)) for m in _RETRY.finditer(log))


def percentiles(values: list[float]) -> str:
    """p50 / p99 in milliseconds, or "-" for no values."""
    if not values:
        return "-"
    p50, p99 = np.percentile(values, [50, 99])
    return f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms"


def by_second(arrivals: list[Arrival], began: float, first_s: float) -> str:
    """p99 of total_s (ms) of the requests sent in each of the first ``first_s`` seconds."""
    cells = []
    for second in range(int(first_s)):
        part = [a.seen.latency.total_s for a in arrivals
                if second <= a.seen.ts - a.seen.latency.total_s - began < second + 1]
        cells.append(f"{np.percentile(part, 99) * 1000:.0f}" if part else "-")
    return "p99 total_s by second of traffic (ms): " + " ".join(cells)


def latency_table(arrivals: list[Arrival], began: float, first_s: float) -> list[str]:
    """Markdown rows: total_s and queue_s, first ``first_s`` seconds and the rest."""
    # by when the request was sent (its prediction's ts less its total latency)
    sent = [(a.seen.ts - a.seen.latency.total_s - began, a.seen) for a in arrivals]
    early = [s for t, s in sent if t < first_s]
    late = [s for t, s in sent if t >= first_s]
    rows = []
    for label, part in ((f"first {first_s:g} s", early), (f"after {first_s:g} s", late)):
        rows.append(f"| {label} | {len(part)} | {percentiles([s.latency.total_s for s in part])}"
                    f" | {percentiles([s.latency.queue_s for s in part])} |")
    return rows


async def run(args: argparse.Namespace) -> None:
    prefix = f"retries-{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap(), topic_prefix=prefix)
    await create_topics(kafka)
    workdir = Path(tempfile.mkdtemp(prefix="iw-retries-"))
    env = {"OMP_NUM_THREADS": "1"}
    if args.worker_code is not None:  # the "before" side: the same worker, older code
        env["PYTHONPATH"] = str(args.worker_code.resolve())
    worker = WorkerProcess("retries", args.roles, prefix, workdir, env)
    traffic = SteadyTraffic(kafka, args.rate, run_id="retries", limit=int(args.rate * args.seconds),
                            outcome_share=args.outcome_share)
    follower = Follower(kafka, Topics(prefix).predictions)
    stop, sending = asyncio.Event(), asyncio.Event()
    worker.start()
    following = asyncio.create_task(follower.run(stop))
    try:
        ready_s = await asyncio.to_thread(worker.wait_started)
        began = time.time()
        await traffic.run(sending)
        answered = await follower.until(traffic.sent, timeout_s=60)
    finally:
        stop.set()
        await following
        worker.stop()
    counted = retries(worker.log.read_text(errors="replace"), prefix)
    total = sum(counted.values())
    print(f"\n{traffic.sent} requests at {args.rate:g}/s over {args.seconds:g} s, "
          f"roles {args.roles}; worker ready in {ready_s:.1f} s; all answered: {answered}; "
          f"log {worker.log}")
    print(f"produce retries: {total} ({total / traffic.sent * 10_000:.1f} per 10k requests)")
    for (error, topic), n in counted.most_common():
        print(f"  {error} on {topic}: {n}")
    print("\n| window | predictions | total_s p50 / p99 | queue_s p50 / p99 |\n|---|---|---|---|")
    print("\n".join(latency_table(follower.arrivals, began, args.first_s)))
    print(by_second(follower.arrivals, began, args.first_s))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=400.0, help="requests per second")
    ap.add_argument("--seconds", type=float, default=60.0, help="seconds of traffic")
    ap.add_argument("--outcome-share", type=float, default=0.5,
                    help="share of requests whose label is sent (the join's input)")
    ap.add_argument("--first-s", type=float, default=10.0, help="the warm-up window, seconds")
    ap.add_argument("--roles", default=ROLES)
    ap.add_argument("--worker-code", type=Path,
                    help="run the worker from this checkout (e.g. a `git archive` of the base)")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores", flush=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
