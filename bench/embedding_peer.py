"""Our embedding drift decision beside a batch peer (Evidently's embeddings drift metric).

Seeded prompt embeddings from ``retrain.synthetic_prompts.PromptTopics`` (384-d, unit
norm, 8 topics): a reference of 5,000 and current windows of ``--rows`` embeddings, in
which a share (``--shares``) of the prompts is about a new topic. Methods:

- ``ours``: the pipeline's decision, from the raw 384-d arrays and request ids:
  ``sample_key`` of each id, ``bottom_k`` (the reference keeps 512, the window 128, the
  ``MonitorSettings`` defaults), ``project`` to 32 dims, float32 on the wire, then
  ``embedding_shift`` at alpha 0.005 with 200 permutations, seeded by the window sample's
  first key as ``DecisionStage._embedding_drift`` does. Drift is ``drifted``.
- ``evidently-model``, ``evidently-mmd``: the drift methods behind Evidently's
  ``EmbeddingsDrift`` metric, called on the full reference and full window as the metric
  calls them: ``ModelDriftMethod()`` (its default with a reference of 1,000 rows or more:
  an ``SGDClassifier`` told reference from current, drift at ROC AUC > 0.55) and
  ``MMDDriftMethod()`` (the unbiased MMD² with an RBF kernel, drift at > 0.015).
- ``evidently-model-report``, ``evidently-mmd-report``: the same two through
  ``Report([EmbeddingsDrift(...)])``, what a batch user runs; it adds a t-SNE plot of
  2,500 + 2,500 sampled rows. Its score must equal the bare method's on the same seed
  (checked), so its decision is the same; it runs on ``--report-seeds`` seeds only.

Each method and cell runs in its own subprocess: wall time is the median over the seeds
(one timed decision each), the peak RSS increase is taken after the first decision over
a baseline after imports and data (with the high-water mark reset there, so that the
temporaries of building the data do not hide a small decision's peak), and the
tracemalloc peak over one further decision, as in ``bench.batch_peer``. Evidently needs
pandas < 3: give its interpreter with ``--peer-python``.

Run (docs/benchmarks.md, "Embedding drift beside a batch peer: Evidently")::

    PYTHONPATH=$PWD ~/.cache/inferwatch/venv/bin/python -m bench.embedding_peer \\
        --peer-python ~/.cache/inferwatch/bench-venv/bin/python

and, for tighter rates of the two fast methods and of our false positives::

    PYTHONPATH=$PWD ~/.cache/inferwatch/venv/bin/python -m bench.embedding_peer \\
        --methods ours evidently-model --seeds $(seq 0 99) \\
        --peer-python ~/.cache/inferwatch/bench-venv/bin/python
    PYTHONPATH=$PWD ~/.cache/inferwatch/venv/bin/python -m bench.embedding_peer \\
        --methods ours --shares 0 --rows 1000 --seeds $(seq 100 1099)
    PYTHONPATH=$PWD ~/.cache/inferwatch/venv/bin/python -m bench.embedding_peer \\
        --methods ours --shares 0 --rows 10000 --seeds $(seq 100 1099)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.batch_peer import maxrss_mib, preload

REFERENCE_ROWS = 5_000
METHODS = ["ours", "evidently-model", "evidently-mmd", "evidently-model-report",
           "evidently-mmd-report"]
REPORTS = {"evidently-model-report", "evidently-mmd-report"}
Decide = Callable[[tuple[Any, ...]], tuple[bool, float, dict[str, float]]]


# -- data -------------------------------------------------------------------------------
def make_data(seed: int, rows: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """The reference and a current window of ``rows``, ``share`` of it about a new topic.

    One seed draws the same prompts at every share but for which are on the new topic, so
    the shares of one seed are nested.
    """
    from retrain.synthetic_prompts import PromptTopics

    prompts = PromptTopics(seed=seed)
    return prompts.sample(REFERENCE_ROWS), prompts.sample(rows, new_topic_share=share)


def request_ids(seed: int, part: str, n: int) -> list[str]:
    """Synthetic request ids, distinct per seed and part: what ``sample_key`` hashes."""
    return [f"req-{seed}-{part}-{i}" for i in range(n)]


# -- the methods ----------------------------------------------------------------------
def ours_decision(ref: np.ndarray, cur: np.ndarray, ref_ids: list[str],
                  cur_ids: list[str]) -> tuple[bool, float, dict[str, float]]:
    """The pipeline's decision from raw embeddings and request ids (``MonitorSettings``)."""
    from detectors.embedding_drift import embedding_shift
    from detectors.embedding_sample import bottom_k, project, sample_key
    from streams.settings import MonitorSettings

    cfg = MonitorSettings.model_fields
    t0 = time.perf_counter()
    samples = []
    for ids, vectors, k in ((ref_ids, ref, cfg["embedding_reference"].default),
                            (cur_ids, cur, cfg["embedding_sample"].default)):
        keys, kept = bottom_k(np.array([sample_key(i) for i in ids], np.int64), vectors, k)
        # the monitor ships the projected sample as float32 (MonitorSummary.embeddings)
        samples.append((keys, project(kept).astype("<f4").astype(float)))
    t1 = time.perf_counter()
    (_, reference), (keys, window) = samples
    shift = embedding_shift(reference, window, alpha=cfg["embedding_alpha"].default,
                            n_permutations=cfg["embedding_permutations"].default,
                            seed=int(keys[0]) % 2**32)
    t2 = time.perf_counter()
    return shift.drifted, shift.p_value, {"sample_project_s": t1 - t0, "test_s": t2 - t1,
                                          "novel_share": shift.novel_share}


def evidently_method(name: str) -> Any:
    """The drift method behind ``EmbeddingsDrift``: its default (model) or MMD."""
    from evidently.metrics.embeddings import MMDDriftMethod, ModelDriftMethod

    return MMDDriftMethod() if "mmd" in name else ModelDriftMethod()


def evidently_report(ref_df: Any, cur_df: Any, columns: list[str],
                     method: Any) -> tuple[bool, float]:
    """``Report([EmbeddingsDrift])`` as a batch user runs it; drift as the method decides."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import EmbeddingsDrift

    definition = DataDefinition(numerical_columns=columns, embeddings={"prompt": columns})
    # the model method is the metric's own default at >= 1,000 reference rows
    metric = EmbeddingsDrift(embeddings_name="prompt",
                             drift_method=method if "MMD" in type(method).__name__ else None)
    snapshot = Report([metric]).run(Dataset.from_pandas(cur_df, data_definition=definition),
                                    Dataset.from_pandas(ref_df, data_definition=definition))
    score = float(snapshot.dict()["metrics"][0]["value"])
    # the v2 metric keeps only the score; both methods flag drift at score > threshold
    return score > method.threshold, score


# -- the worker: one method and cell in its own process -------------------------------
def reset_peak_rss() -> float:
    """Set the peak RSS back to the current RSS and return it, MiB (Linux; else ru_maxrss).

    Building a seed's data leaves a high-water mark of temporaries that a small decision
    stays under; without the reset its peak would read as 0.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return maxrss_mib()
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """The peak RSS since the last reset, MiB (``ru_maxrss`` where /proc has no VmHWM)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return maxrss_mib()
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
    return int(line.split()[1]) / 1024.0 if line else maxrss_mib()


def load(method: str, seed: int, rows: int, share: float) -> tuple[Any, ...]:
    """One seed's input to ``method``, built before its timing starts."""
    ref, cur = make_data(seed, rows, share)
    if method == "ours":
        return ref, cur, request_ids(seed, "ref", len(ref)), request_ids(seed, "cur", len(cur))
    import pandas as pd

    columns = [f"e{j:03d}" for j in range(ref.shape[1])]
    return pd.DataFrame(ref, columns=columns), pd.DataFrame(cur, columns=columns), columns


def decider(method: str) -> tuple[Decide, str]:
    """The timed function, from one seed's loaded input to its decision, and a version."""
    if method == "ours":
        preload("detectors.embedding_drift", "detectors.embedding_sample", "streams.settings")
        return lambda data: ours_decision(*data), "inferwatch"
    import evidently

    preload("evidently.metrics.embeddings", "evidently.presets", "sklearn.manifold")
    drift_method, version = evidently_method(method), f"evidently {evidently.__version__}"
    if method in REPORTS:
        def report(data: tuple[Any, ...]) -> tuple[bool, float, dict[str, float]]:
            ref_df, cur_df, columns = data
            return (*evidently_report(ref_df, cur_df, columns, drift_method), {})
        return report, version

    def bare(data: tuple[Any, ...]) -> tuple[bool, float, dict[str, float]]:
        ref_df, cur_df, columns = data
        # as EmbeddingsDriftMetric calls it: column selections, which the method may modify
        score, drifted, _ = drift_method(cur_df[columns], ref_df[columns])
        return bool(drifted), float(score), {}
    return bare, version


def run_worker(method: str, rows: int, share: float, seeds: list[int]) -> dict[str, Any]:
    """Time one decision per seed, measure peak memory on the first seed, return all."""
    decide, version = decider(method)
    times, flags, scores, extras = [], [], [], []
    rss = 0.0
    for i, seed in enumerate(seeds):
        data = load(method, seed, rows, share)
        base = reset_peak_rss()
        t = time.perf_counter()
        flag, score, extra = decide(data)
        times.append(time.perf_counter() - t)
        if i == 0:
            rss = peak_rss_mib() - base
            # the same data in both interpreters: the first window's first column summed
            fingerprint = float(np.asarray(data[1])[:, 0].sum())
        flags.append(flag)
        scores.append(score)
        extras.append(extra)
    data = load(method, seeds[0], rows, share)
    tracemalloc.start()
    decide(data)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"method": method, "version": version, "rows": rows, "share": share,
            "seeds": seeds, "times": times, "median_s": statistics.median(times),
            "flags": flags, "scores": scores, "extras": extras, "rss_delta_mib": rss,
            "tracemalloc_peak_mib": peak, "data_fingerprint": fingerprint}


def spawn(method: str, rows: int, share: float, seeds: list[int], python: str) -> dict[str, Any]:
    """Run one method on one cell in a fresh ``python`` process and read its JSON result."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [python, "-m", "bench.embedding_peer", "--worker", method, "--rows", str(rows),
           "--shares", repr(share), "--seeds", *map(str, seeds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} at {rows} rows, share {share} failed under {python}:\n"
                           f"{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def check_cell(cell: dict[str, dict[str, Any]]) -> None:
    """Every method saw the same data; a report scored as its bare method did."""
    prints = {m: r["data_fingerprint"] for m, r in cell.items()}
    if len(set(prints.values())) > 1:
        raise RuntimeError(f"the methods drew different data: {prints}")
    for report in REPORTS & set(cell):
        bare = cell.get(report.removesuffix("-report"))
        n = len(cell[report]["scores"])
        if bare and not np.allclose(cell[report]["scores"], bare["scores"][:n], rtol=1e-9):
            raise RuntimeError(f"{report} scored {cell[report]['scores']}, the bare method "
                               f"{bare['scores'][:n]}: the report no longer runs that method")


# -- the report -----------------------------------------------------------------------
def print_tables(rows: int, cells: dict[float, dict[str, dict[str, Any]]]) -> None:
    """Detection rates per share, then the cost of each method and cell."""
    shares = list(cells)
    methods = list(cells[shares[0]])
    versions = sorted({r["version"] for c in cells.values() for r in c.values()})
    print(f"\n### {rows:,} current embeddings (reference {REFERENCE_ROWS:,}; "
          f"{', '.join(versions)})\n")
    print("Share of seeds flagged (at share 0: the false-positive rate):\n")
    print("| method | " + " | ".join(f"share {s:g}" for s in shares) + " |")
    print("|---|" + "---|" * len(shares))
    for m in methods:
        print(f"| {m} | " + " | ".join(
            f"{np.mean(cells[s][m]['flags']):.0%} ({sum(cells[s][m]['flags'])}/"
            f"{len(cells[s][m]['flags'])})" for s in shares) + " |")
    print("\n| method | share | seeds | median score | median wall s per decision "
          "| time vs ours | peak RSS increase MiB | tracemalloc peak MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for m in methods:
        for s in shares:
            r, ours = cells[s][m], cells[s].get("ours")
            ratio = f"{r['median_s'] / ours['median_s']:,.1f}x" if ours else "-"
            print(f"| {m} | {s:g} | {len(r['seeds'])} | {statistics.median(r['scores']):.4g} "
                  f"| {r['median_s']:.4f} | {ratio} | {r['rss_delta_mib']:.1f} "
                  f"| {r['tracemalloc_peak_mib']:.1f} |")
    if "ours" in methods:
        extras = [e for s in shares for e in cells[s]["ours"]["extras"]]
        print(f"\nOurs, median over all its decisions here: hashing the ids, bottom-k and "
              f"projection {statistics.median(e['sample_project_s'] for e in extras):.4f} s, "
              f"the MMD and novelty tests and mean_shift "
              f"{statistics.median(e['test_s'] for e in extras):.4f} s.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.2, 0.4])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)),
                    help="the data seeds of every cell")
    ap.add_argument("--report-seeds", type=int, default=3,
                    help="how many of --seeds the (slow) Evidently Report methods run")
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--peer-python", default=sys.executable,
                    help="the interpreter with evidently installed (it needs pandas < 3)")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.rows[0], args.shares[0], args.seeds)))
        return
    raw: dict[str, Any] = {}
    started = time.perf_counter()
    for rows in args.rows:
        cells: dict[float, dict[str, dict[str, Any]]] = {}
        for share in args.shares:
            cells[share] = {m: spawn(m, rows, share, args.seeds[:args.report_seeds]
                                     if m in REPORTS else args.seeds,
                                     sys.executable if m == "ours" else args.peer_python)
                            for m in args.methods}
            check_cell(cells[share])
        print_tables(rows, cells)
        raw[str(rows)] = {str(s): c for s, c in cells.items()}
    print(f"\nTotal wall time {time.perf_counter() - started:,.0f} s.")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
