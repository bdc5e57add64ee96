"""Micro-batching: inference throughput and latency at each ``max_batch``.

For each size the real worker (``--roles inference``, ``INFERWATCH_INFERENCE_MAX_BATCH``)
serves a fresh topic set twice:

1. **throughput**: a backlog of ``--n`` preloaded requests, drained at full speed; the
   rate is the predictions over the span of their publication times (the group join
   before the first batch is not billed), with ``inference_s`` (the forward pass of the
   prediction's batch) and the mean batch size;
2. **latency**: ``--rate`` requests a second for ``--seconds``, sent in real time, with
   p50 and p99 of ``inference_s`` and ``total_s`` (request sent to prediction published).

The model alone (``TorchPredictor.predict_batch`` on rows at that batch size, in this
process) is timed beside it, so the share of the gain the stage's per-request work
leaves is visible. The device is torch's pick (cuda when present) and is printed, with
the device the predictions name. Needs the broker that ``bench/with_kafka.sh`` starts.

Usage: bench/with_kafka.sh bench.micro_batching --sizes 1,8,64,256,1024 --n 60000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench.prediction_census import Follower, census, ids, lag
from bench.steady_traffic import SteadyTraffic
from bench.worker_process import REPO, WorkerProcess, bootstrap
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.topics import Topics

DEFAULT_MAX_BATCH = 256  # streams/settings/inference.py


def model_alone(sizes: list[int], seconds: float = 1.0) -> tuple[dict[int, float], str]:
    """Rows a second through ``predict_batch`` alone, at each batch size."""
    from inference.torch_predictor import TorchPredictor, select_device  # after OMP_NUM_THREADS
    model_dir = Path(os.environ.get("INFERWATCH_INFERENCE_MODEL_DIR", REPO / "var" / "models"))
    predictor = TorchPredictor.load(model_dir / "churn" / "v1", select_device())
    rng = np.random.default_rng(0)
    out = {}
    for size in sizes:
        rows = rng.normal(size=(size, len(predictor.features)))
        calls, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            predictor.predict_batch(rows)
            calls += 1
        out[size] = calls * size / (time.perf_counter() - began)
    return out, predictor.device


async def measure(size: int, n: int, rate: float, seconds: float, workdir: Path,
                  threads: str) -> dict[str, float | str]:
    prefix = f"mb{size}-{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap(), topic_prefix=prefix)
    topics = Topics(prefix)
    await create_topics(kafka)
    await simulate(kafka, Scenario(count=n, seed=11, run_id="backlog"))
    worker = WorkerProcess(f"mb{size}", "inference", prefix, workdir,
                           {"INFERWATCH_INFERENCE_MAX_BATCH": str(size),
                            **({"OMP_NUM_THREADS": threads} if threads else {})})
    follower, stop = Follower(kafka, topics.predictions), asyncio.Event()
    reading = asyncio.create_task(follower.run(stop))
    worker.start()
    try:
        await asyncio.to_thread(worker.wait_started)
        if not await follower.until(n, timeout_s=600):
            raise RuntimeError(f"max_batch {size}: {len(follower.arrivals)} of {n} answered")
        backlog = [a.seen for a in follower.arrivals[:n]]
        traffic = SteadyTraffic(kafka, rate, run_id="steady", limit=int(rate * seconds))
        await traffic.run(asyncio.Event())
        if not await follower.until(n + traffic.sent, timeout_s=120):
            raise RuntimeError(f"max_batch {size}: the steady phase was not all answered")
        steady = [a.seen for a in follower.arrivals[n:]]
        check = census(ids("backlog", n) + ids("steady", traffic.sent), follower.arrivals)
        behind = await lag(kafka, f"{prefix}inference", topics.requests)
    finally:
        stop.set()
        await reading
        worker.stop()
    ts = np.array([s.ts for s in backlog])

    def q(values: list[float], p: float) -> float:
        return float(np.quantile(values, p))
    inf_s = [s.latency.inference_s for s in steady]
    total_s = [s.latency.total_s for s in steady]
    return {
        "size": size, "device": backlog[0].device,
        "eps": (len(backlog) - 1) / (ts.max() - ts.min()),
        "batch_mean": float(np.mean([s.batch_size for s in backlog])),
        "backlog_inf_p50": q([s.latency.inference_s for s in backlog], 0.5),
        "backlog_inf_p99": q([s.latency.inference_s for s in backlog], 0.99),
        "steady_batch_mean": float(np.mean([s.batch_size for s in steady])),
        "inf_p50": q(inf_s, 0.5), "inf_p99": q(inf_s, 0.99),
        "total_p50": q(total_s, 0.5), "total_p99": q(total_s, 0.99),
        "exact": str(check.exact), "late_ticks": traffic.late_ticks, "lag_after": behind,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,8,64,256,1024")
    ap.add_argument("--n", type=int, default=60_000, help="backlog requests per size")
    ap.add_argument("--rate", type=float, default=2000.0, help="steady phase, requests/s")
    ap.add_argument("--seconds", type=float, default=10.0, help="steady phase length")
    ap.add_argument("--torch-threads", default="1", help="OMP_NUM_THREADS of the worker "
                    "and of the model-alone timing; '' leaves torch's default (one per core)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.torch_threads:  # before torch is imported (in model_alone), as in the worker
        os.environ["OMP_NUM_THREADS"] = args.torch_threads
    alone, device = model_alone(sizes)
    print(f"torch device: {device} (cuda when present); OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="iw-mb-"))
    rows = [asyncio.run(measure(s, args.n, args.rate, args.seconds, workdir, args.torch_threads))
            for s in sizes]
    base = next((r["eps"] for r in rows if r["size"] == 1), None)
    print(f"\nbacklog {args.n} requests per size; steady phase {args.rate:.0f}/s for "
          f"{args.seconds:.0f} s; latencies in ms\n")
    print("| max_batch | device | model alone rows/s | worker req/s | x batch-1 | mean batch "
          "| inference_s p50 / p99 (backlog) | steady: mean batch | inference_s p50 / p99 "
          "| total_s p50 / p99 | exact once |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{float(r['eps']) / float(base):.2f}" if base else "-"
        ms = {k: float(v) * 1000 for k, v in r.items() if k.startswith(("inf", "total",
                                                                       "backlog_inf"))}
        print(f"| {r['size']} | {r['device']} | {alone[int(r['size'])]:,.0f} | "
              f"{float(r['eps']):,.0f} | {ratio} | {float(r['batch_mean']):.0f} | "
              f"{ms['backlog_inf_p50']:.2f} / {ms['backlog_inf_p99']:.2f} | "
              f"{float(r['steady_batch_mean']):.1f} | {ms['inf_p50']:.2f} / {ms['inf_p99']:.2f} "
              f"| {ms['total_p50']:.1f} / {ms['total_p99']:.1f} | {r['exact']} |")
    default = next((r for r in rows if r["size"] == DEFAULT_MAX_BATCH), None)
    if base and default:
        gain = float(default["eps"]) / float(base)
        print(f"\nat the default max_batch {DEFAULT_MAX_BATCH}: {gain:.2f} x batch-1 "
              f"(goal >= 5): {'met' if gain >= 5 else 'NOT met'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
