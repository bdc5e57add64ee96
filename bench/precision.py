"""Serving precision: throughput and holdout accuracy of full, int8 (CPU) and half (CUDA).

Trains the project's classifier (``retrain.trainer``, seeded) into a temporary folder,
then serves it at each precision this machine runs (``full`` and ``int8`` on CPU;
``half`` where CUDA is present) through :func:`inference.quantize.reduce_precision` (its
tolerance set to 1, so the check measures and never refuses), and times
``predict_batch`` at batch 1 and 256 over the holdout's rows: rows per second, the median
of ``--repeats`` runs of ``--rows`` rows each (at most the holdout's 5,000) in which the
precisions take turns, and the median of each run's ratio to full precision; torch on
``--threads`` threads.

    python -m bench.precision --threads 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from inference.quantize import Precision, load_holdout, reduce_precision
from inference.torch_predictor import TorchPredictor
from retrain.trainer import train_classifier


def rows_per_second(predictor: TorchPredictor, batches: list[np.ndarray]) -> float:
    """Rows scored per second, one ``predict_batch`` call a batch."""
    start = time.perf_counter()
    for b in batches:
        predictor.predict_batch(b)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def interleaved(served: list[TorchPredictor], x: np.ndarray, batch: int, rows: int,
                repeats: int) -> list[tuple[float, float]]:
    """Per predictor, the median rows/s and the median of its per-run ratio to the first's.

    The predictors take turns within each run, so a busy machine slows them alike."""
    batches = [x[i:i + batch] for i in range(0, min(rows, len(x)), batch)]
    for p in served:
        p.predict_batch(batches[0])  # warm
    rates = np.array([[rows_per_second(p, batches) for p in served] for _ in range(repeats)])
    return [(float(np.median(rates[:, j])), float(np.median(rates[:, j] / rates[:, 0])))
            for j in range(len(served))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--train-rows", type=int, default=20_000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        trained = train_classifier(Path(tmp), n=args.train_rows, seed=0)
        features, labels = load_holdout(Path(tmp))
        runs: list[tuple[Precision, str]] = [("full", "cpu"), ("int8", "cpu")]
        if torch.cuda.is_available():
            runs += [("full", "cuda"), ("half", "cuda")]
        print(f"holdout {len(labels)} rows; torch {torch.__version__}, {args.threads} "
              f"thread(s); median of {args.repeats} interleaved runs of {args.rows} rows\n")
        print("| precision | device | holdout accuracy | accuracy delta | batch | rows/s "
              "| throughput vs full |")
        print("|---|---|---|---|---|---|---|")
        for device in sorted({d for _, d in runs}):
            full = TorchPredictor.load(trained.model_path, device)
            checked = [reduce_precision(full, p, features, labels, tolerance=1.0)
                       for p, d in runs if d == device]
            for batch in (1, 256):
                measured = interleaved([c[0] for c in checked], features, batch, args.rows,
                                       args.repeats)
                for (served, check), (rate, ratio) in zip(checked, measured, strict=True):
                    print(f"| {served.precision} | {device} | {check.accuracy:.4f} | "
                          f"{check.accuracy - check.full_accuracy:+.4f} | {batch} | "
                          f"{rate:,.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
