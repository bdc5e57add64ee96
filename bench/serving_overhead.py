"""Serving overhead per request: TorchScript and ``torch.export`` against eager.

One network, with one set of weights, is published three ways into version folders:
eager (kind ``entrypoint``: the folder ships :mod:`bench.overhead_net`, whose factory
rebuilds the ``nn.Module``), TorchScript (``torch.jit.script``, kind ``torchscript``) and
an exported program (``torch.export`` with a dynamic batch, kind ``export``). Each is
loaded through :func:`inference.loaders.load_version` and timed through
``predict_batch``, the call the inference stage makes (inputs to tensors, the forward
pass, softmax, the :class:`~inference.predictor.PredictionBatch`).

Before timing, the three must give the same probabilities as the network called
directly (``allclose``, atol 1e-5). Then, per batch size, ``--rounds`` rounds each run
``--chunks`` chunks; a chunk times each of the three for about ``--chunk-ms``, in an
order that rotates from chunk to chunk, so drift on a shared machine hits all three
alike. A round's figure is the median of its chunks; the table shows the best round's
(lowest) µs per request and the ratio to eager.

Usage: python -m bench.serving_overhead --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_models import DEPTH, WIDTH, numeric_spec

#: the networks timed: (width, depth); ``small`` is the demo MLP's size
NETS = {"small": (64, 2), "mlp-1024x6": (WIDTH, DEPTH)}
KINDS = ("eager", "torchscript", "export")
N_FEATURES = 8
FEATURES = tuple(f"x{i}" for i in range(N_FEATURES))


def publish_three(root: Path, width: int, depth: int) -> tuple[Any, dict[str, Path]]:
    """The network (seeded) and its three version folders under ``root``."""
    import torch

    from bench.overhead_net import build
    from inference.model_spec import ModelSpec
    torch.manual_seed(0)
    net = build(N_FEATURES, width, depth)
    folders = {kind: root / kind / "v1" for kind in KINDS}
    for folder in folders.values():
        folder.mkdir(parents=True)
    eager = folders["eager"]
    shutil.copy(Path(__file__).with_name("overhead_net.py"), eager / "overhead_net.py")
    (eager / "net.json").write_text(json.dumps(
        {"n_features": N_FEATURES, "width": width, "depth": depth}))
    torch.save(net.state_dict(), eager / "weights.pt")
    ModelSpec.from_dict(numeric_spec("entrypoint", FEATURES,
                                     entrypoint="overhead_net:factory")).save(eager)
    torch.jit.save(torch.jit.script(net), str(folders["torchscript"] / "model.ts"))
    ModelSpec.from_dict(numeric_spec("torchscript", FEATURES)).save(folders["torchscript"])
    example = torch.zeros(4, N_FEATURES)
    program = torch.export.export(net, (example,),
                                  dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
    torch.export.save(program, str(folders["export"] / "model.pt2"))
    ModelSpec.from_dict(numeric_spec("export", FEATURES)).save(folders["export"])
    return net, folders


def check_same(net: Any, predictors: dict[str, Any], device: str) -> None:
    """Each predictor's probabilities equal the network's own (allclose, atol 1e-5)."""
    import torch
    x = np.random.default_rng(1).normal(size=(64, N_FEATURES)).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(net.to(device)(torch.from_numpy(x).to(device)), 1).cpu()
    for kind, predictor in predictors.items():
        got = predictor.predict_batch(x).probabilities
        if not np.allclose(got, expected.numpy(), atol=1e-5, rtol=0):
            worst = float(np.abs(got - expected.numpy()).max())
            raise SystemExit(f"{kind} differs from the network by up to {worst:.2e}")


def per_call_s(predictor: Any, x: np.ndarray, calls: int) -> float:
    """Mean seconds of one ``predict_batch(x)`` over ``calls`` calls."""
    began = time.perf_counter()
    for _ in range(calls):
        predictor.predict_batch(x)
    return (time.perf_counter() - began) / calls


def time_batch(predictors: dict[str, Any], size: int, args: argparse.Namespace
               ) -> dict[str, float]:
    """Best round's µs per request of each kind at batch ``size``, chunks interleaved."""
    x = np.random.default_rng(2).normal(size=(size, N_FEATURES)).astype(np.float32)
    calls = {k: max(1, int(args.chunk_ms / 1000 / max(per_call_s(p, x, 3), 1e-7)))
             for k, p in predictors.items()}
    kinds = list(predictors)
    best = {k: float("inf") for k in kinds}
    for _ in range(args.rounds):
        chunks: dict[str, list[float]] = {k: [] for k in kinds}
        for c in range(args.chunks):
            for kind in kinds[c % 3:] + kinds[:c % 3]:
                chunks[kind].append(per_call_s(predictors[kind], x, calls[kind]))
        for kind in kinds:
            best[kind] = min(best[kind], statistics.median(chunks[kind]) / size * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default=",".join(NETS), help=f"of {', '.join(NETS)}")
    ap.add_argument("--sizes", default="1,256", help="batch sizes (256: the default max_batch)")
    ap.add_argument("--rounds", type=int, default=3, help="the best round is reported")
    ap.add_argument("--chunks", type=int, default=15, help="interleaved chunks per round")
    ap.add_argument("--chunk-ms", type=float, default=20.0, help="each kind's time per chunk")
    ap.add_argument("--device", default=None, help="cpu, cuda; default: cuda when present")
    ap.add_argument("--torch-threads", default="1", help="OMP_NUM_THREADS, as in the "
                    "micro-batching bench; '' leaves torch's default (one per core)")
    args = ap.parse_args()
    if args.torch_threads:  # before torch is imported
        os.environ["OMP_NUM_THREADS"] = args.torch_threads
    from inference.loaders import load_version
    root = Path(tempfile.mkdtemp(prefix="iw-overhead-"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    lines = []
    for name in args.nets.split(","):
        net, folders = publish_three(root / name, *NETS[name])
        predictors = {k: load_version(f, args.device) for k, f in folders.items()}
        device = predictors["eager"].device
        check_same(net, predictors, device)
        for size in (int(s) for s in args.sizes.split(",")):
            us = time_batch(predictors, size, args)
            lines.append(f"| {name} | {device} | {size} | {us['eager']:,.2f} | "
                         f"{us['torchscript']:,.2f} ({us['torchscript'] / us['eager']:.2f} x) | "
                         f"{us['export']:,.2f} ({us['export'] / us['eager']:.2f} x) |")
            print(lines[-1], flush=True)
    print(f"\nallclose (atol 1e-5) to the network: all three, every net; best of "
          f"{args.rounds} rounds of {args.chunks} interleaved chunks; µs per request\n")
    print("| network | device | batch | eager µs/req | TorchScript µs/req (x eager) "
          "| export µs/req (x eager) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
