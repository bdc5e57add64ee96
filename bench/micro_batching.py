"""Micro-batching: inference throughput and latency at each ``max_batch``.

For each size the real worker (``--roles inference``, ``INFERWATCH_INFERENCE_MAX_BATCH``)
serves a fresh topic set twice:

1. **throughput**: a backlog of ``--n`` preloaded requests, drained at full speed; the
   rate is the predictions over the span of their publication times (the group join
   before the first batch is not billed), with ``inference_s`` (the forward pass of the
   prediction's batch) and the mean batch size;
2. **latency**: ``--rate`` requests a second for ``--seconds``, sent in real time, with
   p50 and p99 of ``inference_s`` and ``total_s`` (request sent to prediction published).

The model alone (``predict_batch`` of the version :func:`inference.loaders.load_version`
loads, on inputs of that batch size, in this process) is timed beside it, so the share
of the gain the stage's per-request work leaves is visible. The device is torch's pick
(cuda when present) and is printed, with the device the predictions name. Needs the
broker that ``bench/with_kafka.sh`` starts.

``--model`` picks what is served (:mod:`bench.bench_models`): ``demo``, the MLP that
``inferwatch train`` writes, whose forward pass is a small share of a request's cost;
``mlp-1024x6`` (TorchScript) and ``tiny-bert`` (transformers, requests with text), whose
forward pass dominates. ``--repeat R`` runs the sweep R times, the sizes interleaved in
each (drift on a shared machine hits all sizes alike), and reports each size's best run.

Usage: bench/with_kafka.sh bench.micro_batching --sizes 1,8,64,256,1024 --n 60000
       bench/with_kafka.sh bench.micro_batching --model mlp-1024x6 --sizes 1,64,256 \
           --n 1500 --rate 40 --seconds 4 --repeat 3
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

from bench.bench_models import MODEL_NAME, MODELS, publish, texts
from bench.prediction_census import Follower, census, ids, lag
from bench.steady_traffic import SteadyTraffic
from bench.worker_process import REPO, WorkerProcess, bootstrap
from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.topics import Topics

DEFAULT_MAX_BATCH = 256  # streams/settings/inference.py


def model_alone(sizes: list[int], seconds: float = 1.0) -> tuple[dict[int, float], str]:
    """Rows a second through ``predict_batch`` alone, at each batch size (best of three
    ``seconds``-long spells, so a burst of the machine's other load is not billed)."""
    from inference.loaders import load_version  # after OMP_NUM_THREADS
    model_dir = Path(os.environ.get("INFERWATCH_INFERENCE_MODEL_DIR", REPO / "var" / "models"))
    predictor = load_version(model_dir / MODEL_NAME / "v1")
    out = {}
    for size in sizes:
        inputs = model_inputs(predictor.spec, size)
        spells = []
        for _ in range(3):
            calls, began = 0, time.perf_counter()
            while time.perf_counter() - began < seconds / 3 or calls < 2:
                predictor.predict_batch(inputs)
                calls += 1
            spells.append(calls * size / (time.perf_counter() - began))
        out[size] = max(spells)
    return out, predictor.device


def model_inputs(spec: ModelSpec, size: int) -> ModelInputs:
    """``size`` rows of inputs for ``spec``: normal numeric features, or the bench's texts."""
    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(size, len(spec.numeric))).astype(np.float32)
    text = texts(size) if spec.text is not None else None
    return ModelInputs(numeric, np.zeros((size, 0), np.int64), text)


async def send_backlog(kafka: KafkaSettings, n: int, with_text: bool) -> None:
    """``n`` requests ``backlog-*`` at once: the simulator's, or with texts for a text model."""
    if not with_text:
        await simulate(kafka, Scenario(count=n, seed=11, run_id="backlog"))
        return
    await SteadyTraffic(kafka, rate=1e12, run_id="backlog", limit=n,
                        texts=texts(n, seed=11)).run(asyncio.Event())


async def measure(size: int, n: int, rate: float, seconds: float, workdir: Path,
                  threads: str, with_text: bool = False) -> dict[str, float | str]:
    """One worker at ``max_batch`` ``size``: the backlog's throughput, the steady latencies."""
    prefix = f"mb{size}-{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap=bootstrap(), topic_prefix=prefix)
    topics = Topics(prefix)
    await create_topics(kafka)
    await send_backlog(kafka, n, with_text)
    worker = WorkerProcess(f"mb{size}-{prefix[-7:-1]}", "inference", prefix, workdir,
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
        traffic = SteadyTraffic(kafka, rate, run_id="steady", limit=int(rate * seconds),
                                texts=texts(512, seed=12) if with_text else None)
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
        # a batch's predictions share its publication time: the span from the first
        # batch's to the last covers the work of every prediction after the first batch
        "eps": int((ts > ts.min()).sum()) / (ts.max() - ts.min()),
        "batch_mean": float(np.mean([s.batch_size for s in backlog])),
        "backlog_inf_p50": q([s.latency.inference_s for s in backlog], 0.5),
        "backlog_inf_p99": q([s.latency.inference_s for s in backlog], 0.99),
        "steady_batch_mean": float(np.mean([s.batch_size for s in steady])),
        "inf_p50": q(inf_s, 0.5), "inf_p99": q(inf_s, 0.99),
        "total_p50": q(total_s, 0.5), "total_p99": q(total_s, 0.99),
        "exact": str(check.exact), "late_ticks": traffic.late_ticks, "lag_after": behind,
    }


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=MODELS, default="demo",
                    help="what is served (bench/bench_models.py)")
    ap.add_argument("--sizes", default="1,8,64,256,1024")
    ap.add_argument("--n", type=int, default=60_000, help="backlog requests per size")
    ap.add_argument("--batches", type=int, default=20, help="the backlog holds at least "
                    "this many full batches of each size (--n is raised to it)")
    ap.add_argument("--rate", type=float, default=2000.0, help="steady phase, requests/s")
    ap.add_argument("--seconds", type=float, default=10.0, help="steady phase length")
    ap.add_argument("--repeat", type=int, default=1,
                    help="sweeps, sizes interleaved; each size's best run is reported")
    ap.add_argument("--torch-threads", default="1", help="OMP_NUM_THREADS of the worker "
                    "and of the model-alone timing; '' leaves torch's default (one per core)")
    return ap.parse_args()


def main() -> None:
    args = arguments()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.torch_threads:  # before torch is imported (in model_alone), as in the worker
        os.environ["OMP_NUM_THREADS"] = args.torch_threads
    workdir = Path(tempfile.mkdtemp(prefix="iw-mb-"))
    demo_dir = Path(os.environ.get("INFERWATCH_INFERENCE_MODEL_DIR", REPO / "var" / "models"))
    # the worker and the model-alone timing read the model dir from the environment
    os.environ["INFERWATCH_INFERENCE_MODEL_DIR"] = str(
        publish(args.model, workdir / "models", demo_dir))
    alone, device = model_alone(sizes)
    print(f"model {args.model}; torch device: {device} (cuda when present); OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    best: dict[int, dict[str, float | str]] = {}
    for _ in range(args.repeat):
        for size in sizes:
            n = max(args.n, args.batches * size)
            row = asyncio.run(measure(size, n, args.rate, args.seconds, workdir,
                                      args.torch_threads, with_text=args.model == "tiny-bert"))
            print(f"  max_batch {size}: {float(row['eps']):,.0f} requests/s", flush=True)
            if size not in best or float(row["eps"]) > float(best[size]["eps"]):
                best[size] = row
    print_table([best[s] for s in sizes], alone, args)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def print_table(rows: list[dict[str, float | str]], alone: dict[int, float],
                args: argparse.Namespace) -> None:
    """The markdown table of each size's (best) run, and the gain at the default size."""
    base = next((r["eps"] for r in rows if r["size"] == 1), None)
    print(f"\nmodel {args.model}; backlog max({args.n}, {args.batches} x max_batch) requests "
          f"per size; steady phase "
          f"{args.rate:.0f}/s for {args.seconds:.0f} s; best of {args.repeat}; latencies in ms\n")
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


if __name__ == "__main__":
    main()
