"""A regression model's error estimated without labels (DLE), ours beside NannyML's.

The stream: three features, ``x ~ N(t (0, 0.8, 1.2), (1 + t/2)^2 I)`` at ``t`` of the
shift. The target is ``2 x1 + sin(2 x2) + 0.5 x3^2`` plus noise whose spread grows with
``|x1|`` (``0.3 + 0.3 |x1|``), and never changes given ``x`` (no concept drift). The model
is the least-squares line fitted on the reference: it misses the sine and the square and
the noise's spread, so its error moves with the inputs. The reference (``--reference``
labelled rows at ``t = 0``) fits both estimators; the analysis stream is ``--chunks``
chunks of ``--chunk`` rows, ``t`` going from 0 to 1. Each chunk's realised MAE and RMSE
are known; the mean absolute error of each estimate against them is reported over
``--seeds`` streams, with how often the realised value fell inside each method's band,
and the seconds each took (fit on the reference, then estimate the stream). NannyML runs
in its own venv (``--peer-python``) through ``bench/dle_peer.py``, on the same arrays.

    python -m bench.dle --seeds 10 --peer-python ~/.cache/inferwatch/venv-nannyml/bin/python
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.cbpe import metric_tables, run_peer, stream_arguments
from detectors.error_estimate import ErrorEstimate

SHIFT = np.array([0.0, 0.8, 1.2])
METRICS = ("mae", "rmse")


def _rows(rng: np.random.Generator, t: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets of ``n`` rows, ``t`` of the way through the shift."""
    x = rng.normal(SHIFT * t, 1.0 + 0.5 * t, (n, 3))
    mean = 2.0 * x[:, 0] + np.sin(2.0 * x[:, 1]) + 0.5 * x[:, 2] ** 2
    return x, mean + rng.normal(0.0, 0.3 + 0.3 * np.abs(x[:, 0]))


def stream(seed: int, reference: int, chunks: int, chunk: int) -> dict[str, np.ndarray]:
    """One seeded reference and analysis stream, with the model's predictions."""
    rng = np.random.default_rng(seed)
    ref_x, ref_y = _rows(rng, 0.0, reference)
    parts = [_rows(rng, i / (chunks - 1), chunk) for i in range(chunks)]
    x = np.concatenate([p[0] for p in parts])
    design = np.column_stack((ref_x, np.ones(reference)))
    coef = np.linalg.lstsq(design, ref_y, rcond=None)[0]
    return {"ref_x": ref_x, "ref_y": ref_y, "ref_pred": design @ coef, "x": x,
            "y": np.concatenate([p[1] for p in parts]),
            "pred": np.column_stack((x, np.ones(len(x)))) @ coef}


def realised(data: dict[str, np.ndarray], chunk: int) -> dict[str, np.ndarray]:
    error = (data["y"] - data["pred"]).reshape(-1, chunk)
    return {"mae": np.abs(error).mean(axis=1), "rmse": np.sqrt((error ** 2).mean(axis=1))}


def ours(data: dict[str, np.ndarray], chunk: int) -> dict[str, Any]:
    """Fit the loss models on the reference, then estimate each chunk."""
    t0 = time.perf_counter()
    est = ErrorEstimate.fit(data["ref_x"], data["ref_pred"], data["ref_y"])
    out: dict[str, Any] = {m: {"estimate": [], "low": [], "high": []} for m in METRICS}
    for x, pred in zip(data["x"].reshape(-1, chunk, 3), data["pred"].reshape(-1, chunk),
                       strict=True):
        win = est.window(x, pred)
        for m, value, band in (("mae", win.mae, win.mae_band),
                               ("rmse", win.rmse, win.rmse_band)):
            out[m]["estimate"].append(value)
            out[m]["low"].append(band[0])
            out[m]["high"].append(band[1])
    seconds = time.perf_counter() - t0
    return {m: {**out[m], "seconds": seconds} for m in METRICS}


def main() -> None:
    args = stream_arguments(__doc__ or "")
    streams = [stream(s, args.reference, args.chunks, args.chunk) for s in range(args.seeds)]
    truths = [realised(d, args.chunk) for d in streams]
    runs = {"ours": [ours(d, args.chunk) for d in streams]}
    if args.peer_python:
        peer = run_peer(args.peer_python, streams, args.chunk, "dle_peer.py")
        runs[f"NannyML {peer['version']} DLE"] = peer["seeds"]
    metric_tables({"mae": "MAE", "rmse": "RMSE"}, runs, truths, args)


if __name__ == "__main__":
    main()
