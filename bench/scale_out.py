"""Scale-out: one requests topic served by 1, then 2 inference workers in one group.

**Throughput.** A fresh topic set is preloaded with ``--n`` requests; the workers start
together; the rate counts the predictions published after the group was seen stable
with every worker in it (so a worker that booted first and ran alone for a while is not
billed to the pair; one worker is timed from its first prediction), over the time to
the last one. Every request id must have exactly
one prediction (read_committed). Each worker's CPU seconds per request are read from
``/proc``: with a core per worker the pair would run at about twice one worker's rate
over its CPU time, which is what the ratio would be on a machine with a core apiece.

**Rebalance pauses.** At a steady ``--rate``, one worker runs; a second joins; later
the second is killed with SIGKILL. For each event the longest gap in the output of any
one partition (by the predictions' publication times) and in the whole stream, beside the
same gaps before either event, and the longest ``total_s`` of a request sent around it.
Nothing may be lost or doubled across the kill (its open transaction is aborted and
replayed by the survivor).

Usage: bench/with_kafka.sh bench.scale_out --n 400000 --rate 2000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka.errors import KafkaError

from bench.prediction_census import Arrival, Follower, Latency, Seen, census, ids
from bench.steady_traffic import SteadyTraffic
from bench.worker_process import WorkerProcess, bootstrap
from streams.kafka import clients as kafka_clients
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.topics import Topics

ENV = {"OMP_NUM_THREADS": "1"}


async def settled_at(kafka: KafkaSettings, group: str, members: int, timeout_s: float) -> float:
    """When the group was first seen Stable with ``members`` members (polled every 50 ms)."""
    admin = kafka_clients.admin(kafka)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                desc = (await admin.describe_consumer_groups([group]))[0].groups[0]
            except KafkaError:  # no coordinator yet: the group's first join is under way
                desc = None
            if desc is not None and desc[2] == "Stable" and len(desc[5]) == members:
                return time.time()
            await asyncio.sleep(0.05)
        raise RuntimeError(f"group {group} not stable with {members} members in {timeout_s} s")
    finally:
        await admin.close()


async def throughput(workers: int, n: int, workdir: Path) -> dict[str, float]:
    prefix = f"so{workers}-{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap(), topic_prefix=prefix)
    await create_topics(kafka)
    await simulate(kafka, Scenario(count=n, seed=11, run_id="backlog"))
    procs = [WorkerProcess(f"so{workers}w{i}", "inference", prefix, workdir, ENV)
             for i in range(workers)]
    follower, stop = Follower(kafka, Topics(prefix).predictions), asyncio.Event()
    reading = asyncio.create_task(follower.run(stop))
    try:
        for p in procs:
            p.start()
        settled = await settled_at(kafka, f"{prefix}inference", workers, timeout_s=300)
        cpu_settled = sum(p.cpu_s() for p in procs)
        if not await follower.until(n, timeout_s=900):
            raise RuntimeError(f"{workers} workers: {len(follower.arrivals)} of {n} answered")
        await asyncio.sleep(2.0)  # a doubled prediction would come in now
        cpu = sum(p.cpu_s() for p in procs) - cpu_settled
    finally:
        stop.set()
        await reading
        for p in procs:
            p.stop()
    check = census(ids("backlog", n), follower.arrivals)
    if workers == 1:  # nobody to wait for: from its first prediction
        settled = min(a.seen.ts for a in follower.arrivals)
    after = sorted(a.seen.ts for a in follower.arrivals if a.seen.ts >= settled)
    if len(after) < n // 2:
        raise RuntimeError(f"only {len(after)} of {n} predictions came after the group "
                           "settled: use a larger --n")
    return {"workers": workers, "eps": len(after) / (after[-1] - settled),
            "share_measured": len(after) / n, "cpu_us": cpu / len(after) * 1e6,
            "missing": check.missing, "doubled": check.doubled}


def gaps(arrivals: list[Arrival], start: float, stop: float) -> tuple[float, float]:
    """Longest gap (s) in any one partition's output, and in the whole stream, that ends
    in [start, stop) (so a stall that began just before ``start`` counts whole).

    Output time is the prediction's publication stamp (its ``ts``, the worker's clock on
    this host), not the reader's arrival: a reader that shares a loaded machine falls
    behind and bunches arrivals, hiding gaps.
    """
    def longest(times: list[float]) -> float:
        times = sorted(times)
        return max((b - a for a, b in itertools.pairwise(times) if start <= b < stop),
                   default=0.0)
    whole = longest([a.seen.ts for a in arrivals])
    parts = {a.partition for a in arrivals}
    one = max(longest([a.seen.ts for a in arrivals if a.partition == p]) for p in parts)
    return max(one, whole), whole


async def pauses(rate: float, workdir: Path, phase_s: float) -> Path:
    """Run the join and kill events; the path of the saved arrivals."""
    prefix = f"rb-{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap(), topic_prefix=prefix)
    await create_topics(kafka)
    first = WorkerProcess("rb0", "inference", prefix, workdir, ENV)
    second = WorkerProcess("rb1", "inference", prefix, workdir, ENV)
    traffic = SteadyTraffic(kafka, rate, run_id="steady")
    follower, stop, sending = Follower(kafka, Topics(prefix).predictions), asyncio.Event(), \
        asyncio.Event()
    reading = asyncio.create_task(follower.run(stop))
    try:
        first.start()
        await asyncio.to_thread(first.wait_started)
        await settled_at(kafka, f"{prefix}inference", 1, timeout_s=120)
        producing = asyncio.create_task(traffic.run(sending))
        await asyncio.sleep(phase_s)
        joined = time.time()
        second.start()
        await settled_at(kafka, f"{prefix}inference", 2, timeout_s=300)
        await asyncio.sleep(phase_s)
        killed = time.time()
        second.kill()
        await settled_at(kafka, f"{prefix}inference", 1, timeout_s=120)
        await asyncio.sleep(phase_s)
        sending.set()
        await producing
        if not await follower.until(traffic.sent, timeout_s=120):
            raise RuntimeError(f"{len(follower.arrivals)} of {traffic.sent} answered")
        await asyncio.sleep(2.0)
        end = time.time()
    finally:
        sending.set()
        stop.set()
        await reading
        first.stop()
        second.stop()
    check = census(ids("steady", traffic.sent), follower.arrivals)
    path = workdir / "pauses.jsonl"
    with path.open("w") as out:
        out.write(json.dumps({"rate": rate, "late_ticks": traffic.late_ticks,
                              "sent": traffic.sent, "missing": check.missing,
                              "doubled": check.doubled, "joined": joined, "killed": killed,
                              "end": end}) + "\n")
        out.writelines(json.dumps([a.at, a.partition, a.seen.ts, a.seen.latency.total_s])
                       + "\n" for a in follower.arrivals)
    return path


#: a request sent this close before the next event is billed to that event
BILLED_TO_NEXT_S = 1.0


def pause_table(path: Path) -> None:
    """Print the pauses of a run from its saved arrivals (``pauses.jsonl``)."""
    lines = path.read_text().splitlines()
    p = json.loads(lines[0])
    arr = [Arrival(at, part, Seen(request_id="", ts=ts, latency=Latency(0.0, total)))
           for at, part, ts, total in map(json.loads, lines[1:])]
    events = [("none (one worker)", min(a.seen.ts for a in arr) + 2, p["joined"]),
              ("a worker joins", p["joined"], p["killed"]),
              ("a worker is SIGKILLed", p["killed"], p["end"])]
    print(f"\npauses at {p['rate']:.0f} requests/s ({p['sent']} sent, {p['late_ticks']} late "
          f"ticks; missing {p['missing']}, doubled {p['doubled']}; arrivals in {path})\n")
    print("| event | longest gap, one partition (s) | longest gap, whole stream (s) | "
          "worst total_s of a request (s) |\n|---|---|---|---|")
    for name, start, stop in events:
        part, whole = gaps(arr, start, stop)
        cut = stop - BILLED_TO_NEXT_S if stop < p["end"] else stop
        worst = max(a.seen.latency.total_s for a in arr
                    if start <= a.seen.ts - a.seen.latency.total_s < cut)
        print(f"| {name} | {part:.2f} | {whole:.2f} | {worst:.2f} |")


def throughputs(n: int, workdir: Path) -> None:
    rows = [asyncio.run(throughput(k, n, workdir)) for k in (1, 2)]
    print("\n| workers | requests/s | share of the backlog counted | CPU µs per request "
          "(all workers) | missing | doubled |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']:.0f} | {r['eps']:,.0f} | {r['share_measured']:.2f} | "
              f"{r['cpu_us']:.0f} | {r['missing']:.0f} | {r['doubled']:.0f} |")
    one = rows[0]
    print(f"\nratio 2/1: {rows[1]['eps'] / one['eps']:.2f}; a core per worker: one worker's "
          f"CPU-bound rate is {1e6 / one['cpu_us']:,.0f}/s, two: "
          f"{2e6 / rows[1]['cpu_us']:,.0f}/s (ratio {one['cpu_us'] * 2 / rows[1]['cpu_us']:.2f})",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400_000, help="backlog for the throughput (a "
                    "single worker must not drain it before a second one has joined)")
    ap.add_argument("--rate", type=float, default=2000.0, help="steady rate for the pauses")
    ap.add_argument("--phase", type=float, default=20.0, help="seconds between the events")
    ap.add_argument("--pauses-only", action="store_true", help="skip the throughput part")
    ap.add_argument("--from-arrivals", type=Path, help="only print the pauses of a run's "
                    "saved pauses.jsonl")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="iw-so-"))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    if not (args.pauses_only or args.from_arrivals):
        throughputs(args.n, workdir)
    if args.from_arrivals is None:
        pause_table(asyncio.run(pauses(args.rate, workdir, args.phase)))
    else:
        pause_table(args.from_arrivals)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
