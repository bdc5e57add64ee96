"""Multi-class accuracy, recall and precision estimated without labels (CBPE, 4 classes),
ours beside NannyML's, under covariate shift.

The stream: two features, ``x ~ N(t (1.2, 0.8), (1 - t/2)^2 I)`` at ``t`` of the shift.
The true class probabilities are ``softmax(x W + 0.6 x1 x2 e_2)`` (class 2 also answers
to the interaction) and never change (no concept drift); the model scores
``softmax(2 x W)``: over-confident and blind to the interaction, so it needs calibrating
and its accuracy moves with the inputs, which crowd towards class 2's corner. The
reference (``--reference`` labelled rows at ``t = 0``) calibrates every estimator; the
analysis stream is ``--chunks`` chunks of ``--chunk`` rows, ``t`` going from 0 to 1, and
each chunk's labels are drawn, so its realised accuracy and macro recall and precision
are known. Reported over ``--seeds`` streams: the mean absolute error of each estimate
against the realised value, how often the realised accuracy fell in the band, and the
seconds each method took (fit on the reference, then estimate the stream). Ours are
:class:`~detectors.performance_estimate.ClassEstimate` (one-vs-rest calibration, as
NannyML) and, for accuracy, :class:`~detectors.performance_estimate.AccuracyEstimate` on
the top-label calibration. NannyML runs in its own venv (``--peer-python``) through
``bench/cbpe_multiclass_peer.py``, on the same arrays.

    python -m bench.cbpe_multiclass --seeds 10 \\
        --peer-python ~/.cache/inferwatch/venv-nannyml/bin/python
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.cbpe import metric_tables, run_peer, stream_arguments
from detectors.performance_estimate import (
    AccuracyEstimate,
    ClassEstimate,
    calibrate_classes,
    fit_class_calibration,
)
from detectors.probability_calibration import correct_chance, fit_reference

K = 4
SHIFT = np.array([1.2, 0.8])
W = np.array([[1.5, -1.0, 0.5, -1.0], [0.5, 1.0, 1.0, -1.5]])
METRICS = ("accuracy", "recall", "precision")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _rows(rng: np.random.Generator, t: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Model probabilities and drawn labels of ``n`` rows, ``t`` of the way through."""
    x = rng.normal(SHIFT * t, 1.0 - 0.5 * t, (n, 2))
    logits = x @ W
    logits[:, 2] += 0.6 * x[:, 0] * x[:, 1]
    truth = _softmax(logits)
    labels = (rng.random((n, 1)) > truth.cumsum(axis=1)).sum(axis=1).clip(0, K - 1)
    return _softmax(2.0 * x @ W), labels


def stream(seed: int, reference: int, chunks: int, chunk: int) -> dict[str, np.ndarray]:
    """One seeded reference and analysis stream."""
    rng = np.random.default_rng(seed)
    ref_p, ref_y = _rows(rng, 0.0, reference)
    parts = [_rows(rng, i / (chunks - 1), chunk) for i in range(chunks)]
    return {"ref_proba": ref_p, "ref_labels": ref_y,
            "proba": np.concatenate([p[0] for p in parts]),
            "labels": np.concatenate([p[1] for p in parts])}


def realised(data: dict[str, np.ndarray], chunk: int) -> dict[str, np.ndarray]:
    """Each chunk's realised accuracy and macro recall and precision."""
    out: dict[str, list[float]] = {m: [] for m in METRICS}
    for p, y in zip(data["proba"].reshape(-1, chunk, K), data["labels"].reshape(-1, chunk),
                    strict=True):
        pred = p.argmax(axis=1)
        cm = np.bincount(y * K + pred, minlength=K * K).reshape(K, K)
        out["accuracy"].append(float(np.trace(cm) / chunk))
        out["recall"].append(float(np.nanmean(np.diag(cm) / np.maximum(cm.sum(axis=1), 1))))
        out["precision"].append(float(np.nanmean(np.diag(cm) / np.maximum(cm.sum(axis=0), 1))))
    return {m: np.asarray(v) for m, v in out.items()}


def ours(data: dict[str, np.ndarray], chunk: int) -> dict[str, Any]:
    """One-vs-rest calibration on the reference, then each chunk's ClassEstimate."""
    t0 = time.perf_counter()
    cals = fit_class_calibration(data["ref_proba"], data["ref_labels"])
    out: dict[str, Any] = {m: {"estimate": [], "low": [], "high": []} for m in METRICS}
    for p in data["proba"].reshape(-1, chunk, K):
        est = ClassEstimate(K)
        est.update_many(calibrate_classes(p, cals), p.argmax(axis=1))
        low, high = est.accuracy_band
        for m, value, band in (("accuracy", est.accuracy, (low, high)),
                               ("recall", float(np.nanmean(est.recall)), (np.nan, np.nan)),
                               ("precision", float(np.nanmean(est.precision)),
                                (np.nan, np.nan))):
            out[m]["estimate"].append(value)
            out[m]["low"].append(band[0])
            out[m]["high"].append(band[1])
    seconds = time.perf_counter() - t0
    return {m: {**out[m], "seconds": seconds} for m in METRICS}


def top_label(data: dict[str, np.ndarray], chunk: int) -> dict[str, Any]:
    """Accuracy alone from the top-label calibration (one isotonic fit)."""
    t0 = time.perf_counter()
    cal = fit_reference(data["ref_proba"], data["ref_labels"])
    est, low, high = [], [], []
    for p in data["proba"].reshape(-1, chunk, K):
        window = AccuracyEstimate(0.5)
        window.update_many(correct_chance(p, cal))
        est.append(window.estimate)
        low.append(window.band[0])
        high.append(window.band[1])
    return {"accuracy": {"estimate": est, "low": low, "high": high,
                         "seconds": time.perf_counter() - t0}}


def main() -> None:
    args = stream_arguments(__doc__ or "")
    streams = [stream(s, args.reference, args.chunks, args.chunk) for s in range(args.seeds)]
    truths = [realised(d, args.chunk) for d in streams]
    runs = {"ours (one-vs-rest, ClassEstimate)": [ours(d, args.chunk) for d in streams],
            "ours (top-label, AccuracyEstimate)": [top_label(d, args.chunk) for d in streams]}
    if args.peer_python:
        peer = run_peer(args.peer_python, streams, args.chunk, "cbpe_multiclass_peer.py")
        runs[f"NannyML {peer['version']} CBPE"] = peer["seeds"]
    metric_tables({"accuracy": f"accuracy ({K} classes)",
                   "recall": f"recall ({K} classes, macro)",
                   "precision": f"precision ({K} classes, macro)"}, runs, truths, args)


if __name__ == "__main__":
    main()
