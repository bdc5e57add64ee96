"""Accuracy estimated without labels (CBPE), ours beside NannyML's, under covariate shift.

The stream: two features, ``x ~ N(t (1.0, 1.5), (1 - t/2)^2 I)`` at ``t`` of the shift.
The true chance of class 1 is ``sigmoid(1.5 x1 - x2 + 0.5 x1 x2)`` and never changes (no
concept drift); the model scores ``sigmoid(2 (1.5 x1 - x2))``: over-confident and blind to
the interaction, so it needs calibrating and its accuracy moves with the inputs. The
reference (``--reference`` labelled rows at ``t = 0``) calibrates both estimators; the
analysis stream is ``--chunks`` chunks of ``--chunk`` rows, ``t`` going from 0 to 1: the
inputs move along the model's boundary and crowd towards it, so the accuracy falls. Each
chunk's labels are drawn, so its realised accuracy is known; the mean absolute error of
each estimate against it is reported over ``--seeds`` streams, with how often the realised
accuracy fell inside each method's band, and the seconds each took (fit on the reference,
then estimate the stream). NannyML runs in its own venv (``--peer-python``) through
``bench/cbpe_peer.py``, on the same arrays.

    python -m bench.cbpe --seeds 10 --peer-python ~/.cache/inferwatch/venv-nannyml/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from detectors.performance_estimate import AccuracyEstimate
from detectors.probability_calibration import correct_chance, fit_reference

SHIFT = np.array([1.0, 1.5])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _rows(rng: np.random.Generator, t: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Model scores and drawn labels of ``n`` rows, ``t`` of the way through the shift."""
    x = rng.normal(SHIFT * t, 1.0 - 0.5 * t, (n, 2))
    truth = _sigmoid(1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 0] * x[:, 1])
    labels = (rng.random(n) < truth).astype(np.int64)
    return _sigmoid(2.0 * (1.5 * x[:, 0] - x[:, 1])), labels


def stream(seed: int, reference: int, chunks: int, chunk: int) -> dict[str, np.ndarray]:
    """One seeded reference and analysis stream."""
    rng = np.random.default_rng(seed)
    ref_scores, ref_labels = _rows(rng, 0.0, reference)
    parts = [_rows(rng, i / (chunks - 1), chunk) for i in range(chunks)]
    return {"ref_scores": ref_scores, "ref_labels": ref_labels,
            "scores": np.concatenate([p[0] for p in parts]),
            "labels": np.concatenate([p[1] for p in parts])}


def realised(data: dict[str, np.ndarray], chunk: int) -> np.ndarray:
    right = ((data["scores"] >= 0.5).astype(np.int64) == data["labels"])
    return right.reshape(-1, chunk).mean(axis=1)


def ours(data: dict[str, np.ndarray], chunk: int) -> dict[str, Any]:
    """Calibrate on the reference, then estimate each chunk."""
    t0 = time.perf_counter()
    cal = fit_reference(data["ref_scores"], data["ref_labels"])
    ref_acc = float(((data["ref_scores"] >= 0.5) == data["ref_labels"]).mean())
    est, low, high = [], [], []
    for part in data["scores"].reshape(-1, chunk):
        window = AccuracyEstimate(ref_acc)
        window.update_many(correct_chance(part, cal))
        est.append(window.estimate)
        low.append(window.band[0])
        high.append(window.band[1])
    return {"estimate": est, "low": low, "high": high, "seconds": time.perf_counter() - t0}


def run_peer(peer_python: str, streams: list[dict[str, np.ndarray]], chunk: int,
             script: str = "cbpe_peer.py") -> Any:
    """Run a NannyML peer script (a file beside this one) on the streams; its JSON."""
    arrays = {f"{k}_{s}": v for s, d in enumerate(streams) for k, v in d.items()}
    with tempfile.NamedTemporaryFile(suffix=".npz") as f:
        np.savez(f.name, chunk=chunk, seeds=len(streams), **arrays)
        done = subprocess.run([peer_python, str(Path(__file__).with_name(script)),
                               f.name], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the NannyML peer failed:\n{done.stderr[-3000:]}")
    # NannyML may print banners first: the JSON is the last line
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]], truths: list[np.ndarray]) -> dict[str, float]:
    err = np.concatenate([np.abs(np.asarray(r["estimate"]) - t) for r, t in zip(
        runs, truths, strict=True)])
    inside = np.concatenate([(np.asarray(r["low"]) <= t) & (t <= np.asarray(r["high"]))
                             for r, t in zip(runs, truths, strict=True)])
    width = np.concatenate([np.asarray(r["high"]) - np.asarray(r["low"]) for r in runs])
    return {"mae": float(err.mean()), "max_err": float(err.max()),
            "coverage": float(inside.mean()), "width": float(width.mean()),
            "seconds": float(np.median([r["seconds"] for r in runs]))}


def stream_arguments(doc: str) -> argparse.Namespace:
    """The command line shared by the estimate benches (seeds, sizes, the peer)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--reference", type=int, default=20_000)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=2_000)
    ap.add_argument("--peer-python", default=None)
    return ap.parse_args()


def metric_tables(metrics: dict[str, str], runs: dict[str, list[dict[str, Any]]],
                  truths: list[dict[str, np.ndarray]], args: argparse.Namespace) -> None:
    """Print one table per metric (name -> title): each method's error against the
    realised values (a method without a metric, or without its band, says so)."""
    for m, title in metrics.items():
        first = np.mean([t[m][0] for t in truths])
        last = np.mean([t[m][-1] for t in truths])
        print(f"\n{title}: realised first chunk {first:.3f}, last chunk {last:.3f} (mean of "
              f"{args.seeds} seeds); {args.chunks} chunks of {args.chunk}, reference "
              f"{args.reference}\n")
        print("| method | MAE vs realised | max error | realised inside band | mean band "
              "width | seconds per stream (median) |")
        print("|---|---|---|---|---|---|")
        for name, seeds in runs.items():
            if m not in seeds[0]:
                continue
            r = summarise([s[m] for s in seeds], [t[m] for t in truths])
            banded = not np.isnan(r["width"])
            cover = f"{r['coverage']:.3f}" if banded else "no band"
            width = f"{r['width']:.4f}" if banded else "no band"
            print(f"| {name} | {r['mae']:.4f} | {r['max_err']:.4f} | {cover} | {width} | "
                  f"{r['seconds']:.4f} |")


def main() -> None:
    args = stream_arguments(__doc__ or "")
    streams = [stream(s, args.reference, args.chunks, args.chunk) for s in range(args.seeds)]
    truths = [realised(d, args.chunk) for d in streams]
    rows = {"ours": summarise([ours(d, args.chunk) for d in streams], truths)}
    version = None
    if args.peer_python:
        peer = run_peer(args.peer_python, streams, args.chunk)
        version = peer["version"]
        rows[f"NannyML {version} CBPE"] = summarise(peer["seeds"], truths)
    first, last = np.mean([t[0] for t in truths]), np.mean([t[-1] for t in truths])
    print(f"realised accuracy: first chunk {first:.3f}, last chunk {last:.3f} (mean of "
          f"{args.seeds} seeds); {args.chunks} chunks of {args.chunk}, reference "
          f"{args.reference}\n")
    print("| method | MAE vs realised | max error | realised inside band | mean band width "
          "| seconds per stream (median) |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['mae']:.4f} | {r['max_err']:.4f} | {r['coverage']:.3f} | "
              f"{r['width']:.4f} | {r['seconds']:.4f} |")


if __name__ == "__main__":
    main()
