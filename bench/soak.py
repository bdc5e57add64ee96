"""Soak: the whole worker at a steady rate for ``--minutes``; memory, lag and alerts.

One worker with every role (as ``inferwatch worker`` runs by default: inference,
monitor, join, decide, sink into embedded ClickHouse, route to a webhook receiver on
loopback, health) serves steady, undrifted traffic. Every ``--sample`` seconds: the
worker's resident memory and every consumer group's lag (``inferwatch status``'s
reading). At the end: RSS at the start (the first sample after ``--warmup`` seconds,
when the loops have their state) and at the end (growth goal < 10%), the largest lag
seen per group, and every alert the decision and health steps raised (goal: none).
Every request must have exactly one prediction.

Usage: bench/with_kafka.sh bench.soak --minutes 10 --rate 500   (--minutes 1 to try)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench.decision_watch import Watch
from bench.prediction_census import Census, Follower, census, ids
from bench.steady_traffic import SteadyTraffic
from bench.webhook_receiver import WebhookReceiver, port_from_env
from bench.worker_process import WorkerProcess, bootstrap
from streams.cli.status import gather
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.wire.topics import Topics


async def soak(args: argparse.Namespace) -> None:
    prefix = f"soak-{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap(), topic_prefix=prefix)
    await create_topics(kafka)
    workdir = Path(tempfile.mkdtemp(prefix="iw-soak-"))
    async with WebhookReceiver(args.webhook_port) as hook:
        worker = WorkerProcess("soak", "inference,monitor,join,decide,sink,route,health",
                               prefix, workdir, {"OMP_NUM_THREADS": "1",
                                                 "INFERWATCH_ALERTING_WEBHOOK_URL": hook.url})
        await _run(args, kafka, prefix, worker, hook)


async def _run(args: argparse.Namespace, kafka: KafkaSettings, prefix: str,
               worker: WorkerProcess, hook: WebhookReceiver) -> None:
    traffic = SteadyTraffic(kafka, args.rate, run_id="soak", outcome_share=args.outcome_share)
    watch, follower = Watch(kafka), Follower(kafka, Topics(prefix).predictions)
    stop, sending = asyncio.Event(), asyncio.Event()
    samples: list[tuple[float, float, dict[str, int]]] = []  # (t, RSS MiB, lag per group)
    worker.start()
    tasks = [asyncio.create_task(watch.run(stop)), asyncio.create_task(follower.run(stop))]
    try:
        await asyncio.to_thread(worker.wait_started)
        producing = asyncio.create_task(traffic.run(sending))
        began = time.monotonic()
        while (t := time.monotonic() - began) < args.minutes * 60:
            status = await gather(kafka)
            lags = {g.removeprefix(prefix): sum(topics.values())
                    for g, topics in status.lag.items()}
            samples.append((t, worker.rss_mib(), lags))
            print(f"t={t:5.0f}s rss={samples[-1][1]:.0f}MiB lag={lags} "
                  f"load={os.getloadavg()[0]:.2f}", flush=True)
            await asyncio.sleep(max(0.0, args.sample - (time.monotonic() - began - t)))
        sending.set()
        await producing
        answered = await follower.until(traffic.sent, timeout_s=120)
        await asyncio.sleep(2.0)
    finally:
        sending.set()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        worker.stop()
    report(args, samples, traffic, watch, census(ids("soak", traffic.sent), follower.arrivals),
           answered)
    print(f"| notifications at the webhook (goal 0) | {len(hook.received)} |")


def report(args: argparse.Namespace, samples: list[tuple[float, float, dict[str, int]]],
           traffic: SteadyTraffic, watch: Watch, check: Census, answered: bool) -> None:
    start = next((s for s in samples if s[0] >= args.warmup), samples[-1])
    end = samples[-1]
    growth = end[1] / start[1] - 1
    groups = sorted({g for _, _, lags in samples for g in lags})
    fired = [a for _, a in watch.alerts if a.status == "firing"]
    print(f"\nsoak: {args.minutes:g} min at {args.rate:.0f} requests/s, {traffic.sent} sent, "
          f"{traffic.late_ticks} late ticks of the sender; predictions: {check.missing} "
          f"missing, {check.doubled} doubled, {check.foreign} foreign (all arrived: {answered})\n")
    print("| figure | value |\n|---|---|")
    print(f"| RSS first sample (t={samples[0][0]:.0f} s) | {samples[0][1]:.0f} MiB |")
    print(f"| RSS at start (t={start[0]:.0f} s) | {start[1]:.0f} MiB |")
    print(f"| RSS at end (t={end[0]:.0f} s) | {end[1]:.0f} MiB |")
    print(f"| growth start to end (goal < 10%) | {growth:.1%} "
          f"({'met' if growth < 0.10 else 'NOT met'}) |")
    for g in groups:
        seen = [lags.get(g, 0) for _, _, lags in samples]
        print(f"| lag of {g}: max / last (records) | {max(seen)} / {seen[-1]} |")
    print(f"| alerts fired (goal 0) | {len(fired)} |")
    for a in fired:
        print(f"|  {a.labels.get('detector')} {a.severity} | {a.annotations.get('summary')} |")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second")
    ap.add_argument("--outcome-share", type=float, default=1.0,
                    help="share of requests whose label is sent (0: the join fills up to "
                         "its bound of waiting predictions, 200,000)")
    ap.add_argument("--sample", type=float, default=15.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds before 'start' RSS")
    ap.add_argument("--webhook-port", type=int, default=port_from_env())
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    asyncio.run(soak(args))


if __name__ == "__main__":
    main()
