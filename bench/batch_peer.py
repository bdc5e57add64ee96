"""Our streaming drift decision beside a batch peer (Evidently's data drift preset).

A seeded reference (100,000 rows) and current batches of ``--rows`` rows x 20 features
of mixed shapes; a known, evenly spread subset of ``--drifted`` features is shifted
(large and small shifts), the rest are drawn from the reference distribution. Methods:

- ``evidently-ks``: Evidently's ``DataDriftPreset(method="ks")``, a two-sample KS test per
  column at p <= 0.05, with no multiple-testing correction (Evidently has none).
- ``evidently-default``: ``DataDriftPreset()`` as shipped; on numeric columns of more than
  1,000 reference rows it picks the normed Wasserstein distance >= 0.1, not KS.
- ``ours-binned``: what the streaming monitor runs: the current rows arrive in chunks,
  are binned on the reference deciles (``ReferenceProfile.bin_indices``), counted with
  ``np.bincount`` into mergeable histograms that add up, and decided by
  ``detectors.feature_drift.binned_drift`` at its defaults (chi-square with
  Benjamini-Hochberg at alpha 0.001, and PSI >= 0.1).
- ``ours-ks-bh``: our exact two-sample KS (``detectors.stats.ks``) per feature, with
  Benjamini-Hochberg at 0.05 over the features.

Each method runs in its own subprocess, so its peak resident memory is its own: the
process loads the data, then the increase of ``ru_maxrss`` over the first run is
reported, and ``tracemalloc``'s peak over one further run (Python and numpy allocations).
Wall time is the median of ``--repeat`` runs. Evidently needs pandas < 3, which the
project's virtual environment does not have; give its interpreter with ``--peer-python``.

Run::

    python -m bench.batch_peer --rows 100000 1000000 \\
        --peer-python ~/.cache/inferwatch/bench-venv/bin/python
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_ROWS = 100_000
CHUNK = 10_000
SHAPES = ["normal", "lognormal", "exponential", "uniform", "student-t5", "bimodal",
          "poisson3", "beta2-5", "gamma2", "normal-rounded"]
DISCRETE = {"poisson3", "normal-rounded"}
#: (kind, amount, size): shift in reference sd, scale about the mean, share of outliers.
DRIFTS = [("shift", 0.5, "large"), ("scale", 1.5, "large"), ("shift", 0.1, "small"),
          ("scale", 1.05, "small"), ("outliers", 0.02, "small")]
METHODS = ["evidently-ks", "evidently-default", "ours-binned", "ours-ks-bh"]
PEER_METHODS = {"evidently-ks", "evidently-default"}


# -- data -------------------------------------------------------------------------------
def draw(shape: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` values of one of the ``SHAPES``."""
    draws: dict[str, Callable[[], np.ndarray]] = {
        "normal": lambda: rng.normal(0.0, 1.0, n),
        "lognormal": lambda: rng.lognormal(0.0, 0.75, n),
        "exponential": lambda: rng.exponential(1.0, n),
        "uniform": lambda: rng.uniform(0.0, 1.0, n),
        "student-t5": lambda: rng.standard_t(5, n),
        "bimodal": lambda: rng.normal(np.where(rng.random(n) < 0.5, -2.0, 2.0), 1.0),
        "poisson3": lambda: rng.poisson(3.0, n).astype(float),
        "beta2-5": lambda: rng.beta(2.0, 5.0, n),
        "gamma2": lambda: rng.gamma(2.0, 1.0, n),
        "normal-rounded": lambda: np.round(rng.normal(10.0, 3.0, n), 1),
    }
    return draws[shape]()


def apply_drift(x: np.ndarray, kind: str, amount: float, mean: float, sd: float,
                rng: np.random.Generator) -> np.ndarray:
    """Shift ``x`` by ``amount`` sd, scale it about ``mean``, or make a share outliers."""
    if kind == "shift":
        return x + amount * sd
    if kind == "scale":
        return mean + (x - mean) * amount
    out = x.copy()
    out[rng.random(x.size) < amount] = mean + 4.0 * sd
    return out


def drifted_features(features: int, drifted: int) -> list[int]:
    """Indices of the drifted features, spread evenly over the columns."""
    return sorted({round(i * features / drifted) for i in range(drifted)}) if drifted else []


def make_data(rows: int, features: int, drifted: int,
              seed: int) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[str, float, str]]]:
    """The reference, the current batch, and the drift applied to each drifted feature."""
    rng = np.random.default_rng(seed)
    ref = np.empty((REFERENCE_ROWS, features))
    cur = np.empty((rows, features))
    truth = {j: DRIFTS[i % len(DRIFTS)] for i, j in enumerate(drifted_features(features, drifted))}
    for j in range(features):
        shape = SHAPES[j % len(SHAPES)]
        ref[:, j] = draw(shape, rng, REFERENCE_ROWS)
        cur[:, j] = draw(shape, rng, rows)
        if j in truth:
            kind, amount, _ = truth[j]
            cur[:, j] = apply_drift(cur[:, j], kind, amount, ref[:, j].mean(), ref[:, j].std(),
                                    rng)
            if shape in DISCRETE:
                cur[:, j] = np.round(cur[:, j], 0 if shape == "poisson3" else 1)
    return ref, cur, truth


def feature_names(features: int) -> list[str]:
    return [f"f{j:02d}_{SHAPES[j % len(SHAPES)]}" for j in range(features)]


# -- the methods ----------------------------------------------------------------------
def ours_binned(ref: np.ndarray, cur: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Reference decile bins, chunked histograms that add up, ``binned_drift`` at defaults."""
    from detectors.feature_drift import binned_drift
    from detectors.reference.profile import ReferenceProfile

    prof = ReferenceProfile.from_features("bench", "v1", names, ref)
    hist = [np.zeros(len(e) + 1, dtype=np.int64) for e in prof.edges]
    for start in range(0, cur.shape[0], CHUNK):
        idx = prof.bin_indices(cur[start:start + CHUNK])
        for j, h in enumerate(hist):
            h += np.bincount(idx[:, j], minlength=h.size)
    res = binned_drift(dict(zip(names, hist, strict=True)), dict(zip(names, prof.counts,
                                                                     strict=True)))
    by_name = {s.feature: s for s in res.shifts}
    state = sum(e.nbytes for e in prof.edges) + sum(c.nbytes for c in prof.counts) + sum(
        h.nbytes for h in hist)
    return {"flags": [by_name[n].drifted for n in names],
            "score": [by_name[n].psi for n in names], "score_name": "PSI",
            "state_bytes_per_feature": state / len(names)}


def ours_ks_bh(ref: np.ndarray, cur: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Exact two-sample KS per feature (asymptotic p-value), Benjamini-Hochberg at 0.05."""
    from detectors.multiple_testing import benjamini_hochberg
    from detectors.stats.ks import ks_p_value, ks_statistic

    stats, pvals = [], []
    for j in range(len(names)):
        d = ks_statistic(np.sort(ref[:, j]), np.sort(cur[:, j]))
        stats.append(d)
        pvals.append(ks_p_value(d, ref.shape[0], cur.shape[0]))
    rejected, _ = benjamini_hochberg(pvals, alpha=0.05)
    return {"flags": rejected.tolist(), "score": stats, "score_name": "KS D",
            "state_bytes_per_feature": 8.0 * (ref.shape[0] + cur.shape[0])}


def peer_frames(ref: np.ndarray, cur: np.ndarray, names: list[str]) -> tuple[Any, Any]:
    """The peer's input: pandas DataFrames over the same arrays (built outside the timing)."""
    import pandas as pd

    return pd.DataFrame(ref, columns=names), pd.DataFrame(cur, columns=names)


def evidently_drift(ref_df: Any, cur_df: Any, names: list[str],
                    method: str | None) -> dict[str, Any]:
    """Evidently's ``DataDriftPreset`` on the two frames; per-column decisions."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=list(names))
    preset = DataDriftPreset(method=method) if method else DataDriftPreset()
    snapshot = Report([preset]).run(Dataset.from_pandas(cur_df, data_definition=definition),
                                    Dataset.from_pandas(ref_df, data_definition=definition))
    return evidently_decisions(snapshot.dict(), names, ref_df.shape[0] + cur_df.shape[0])


def evidently_decisions(doc: dict[str, Any], names: list[str], rows: int) -> dict[str, Any]:
    """Per-column flags from a snapshot, checked against its drifted-columns count."""
    scores: dict[str, float] = {}
    flags: dict[str, bool] = {}
    count, test = -1.0, ""
    for m in doc["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            count = m["value"]["count"]
        elif cfg["type"].endswith("ValueDrift"):
            test = m["metric_name"].split("method=")[1].split(",")[0]
            value, threshold = float(m["value"]), float(cfg["threshold"])
            scores[cfg["column"]] = value
            # p-value tests drift at p <= threshold, distances at value >= threshold
            flags[cfg["column"]] = value <= threshold if test == "ks" else value >= threshold
    if sum(flags.values()) != count:
        raise RuntimeError(f"Evidently counted {count} drifted columns, the per-column "
                           f"decisions give {sum(flags.values())}: the snapshot format changed")
    return {"flags": [flags[n] for n in names], "score": [scores[n] for n in names],
            "score_name": "p-value" if test == "ks" else test,
            "state_bytes_per_feature": 8.0 * rows}


# -- the worker: one method in its own process ----------------------------------------
def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def preload(*modules: str) -> None:
    """Import before the timing starts, so that no timed run pays for imports."""
    for name in modules:
        importlib.import_module(name)


def run_worker(method: str, data: Path, repeat: int, memory: bool = True) -> dict[str, Any]:
    """Time one method, measure its peak memory (unless not ``memory``), return its decisions."""
    ref, cur = np.load(data / "ref.npy"), np.load(data / "cur.npy")
    names = feature_names(ref.shape[1])
    if method in PEER_METHODS:
        import evidently

        preload("evidently.presets")

        ref_df, cur_df = peer_frames(ref, cur, names)
        peer_method = "ks" if method == "evidently-ks" else None

        def fn() -> dict[str, Any]:
            return evidently_drift(ref_df, cur_df, names, peer_method)
        version = f"evidently {evidently.__version__}"
    else:
        preload("detectors.feature_drift", "detectors.multiple_testing", "detectors.stats.ks",
                "detectors.reference.profile")
        fn_ours = ours_binned if method == "ours-binned" else ours_ks_bh

        def fn() -> dict[str, Any]:
            return fn_ours(ref, cur, names)
        version = "inferwatch"
    base = maxrss_mib()
    times, rss = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        rss.append(maxrss_mib() - base)
    out["rss_delta_mib"] = rss[0]
    if memory:
        tracemalloc.start()
        fn()
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    out.update(method=method, version=version, times=times, median_s=statistics.median(times))
    return out


def spawn(method: str, data: Path, repeat: int, python: str, memory: bool) -> dict[str, Any]:
    """Run one method in a fresh ``python`` process and read its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    cmd = [python, "-m", "bench.batch_peer", "--worker", method, "--data", str(data),
           "--repeat", str(repeat)] + ([] if memory else ["--no-memory"])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                          cwd=env["PYTHONPATH"])
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed under {python}:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the report -----------------------------------------------------------------------
def kappa(a: list[bool], b: list[bool]) -> tuple[float, float]:
    """Share of equal decisions and Cohen's kappa (NaN when chance agreement is 1)."""
    x, y = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    po = float(np.mean(x == y))
    pe = float(x.mean() * y.mean() + (1 - x.mean()) * (1 - y.mean()))
    return po, (po - pe) / (1 - pe) if pe < 1 else float("nan")


def confusion(flags: list[bool], truth: set[int]) -> tuple[int, int, int]:
    """True positives, false positives and false negatives against the drifted set."""
    hit = {j for j, f in enumerate(flags) if f}
    return len(hit & truth), len(hit - truth), len(truth - hit)


def print_tables(rows: int, results: dict[str, dict[str, Any]],
                 truth: dict[int, tuple[str, float, str]], names: list[str]) -> None:
    """Cost, decisions and per-feature scores of one timed run."""
    peer = results.get("evidently-ks")
    print(f"\n### {rows:,} current rows x {len(names)} features (reference {REFERENCE_ROWS:,})\n")
    print("| method | median wall s (runs) | vs evidently-ks | peak RSS increase MiB "
          "| tracemalloc peak MiB | state per feature |")
    print("|---|---|---|---|---|---|")
    for m, r in results.items():
        ratio = f"{r['median_s'] / peer['median_s']:.3f}x" if peer else "-"
        runs = ", ".join(f"{t:.2f}" for t in r["times"])
        print(f"| {m} | {r['median_s']:.3f} ({runs}) | {ratio} | {r['rss_delta_mib']:.1f} "
              f"| {r['tracemalloc_peak_mib']:.1f} | {fmt_bytes(r['state_bytes_per_feature'])} |")
    print("\n| method | flagged | TP | FP | FN | agreement, kappa vs evidently-ks "
          "| vs evidently-default |")
    print("|---|---|---|---|---|---|---|")
    for m, r in results.items():
        tp, fp, fn = confusion(r["flags"], set(truth))
        flagged = " ".join(names[j].split("_")[0] for j, f in enumerate(r["flags"]) if f)
        vs = [kappa(r["flags"], results[p]["flags"]) for p in ("evidently-ks", "evidently-default")
              if p in results]
        cells = [f"{po:.0%}, {k:.2f}" for po, k in vs] + ["-"] * (2 - len(vs))
        print(f"| {m} | {flagged or '(none)'} | {tp} | {fp} | {fn} | {cells[0]} | {cells[1]} |")
    print("\n| feature | drift | size | " + " | ".join(
        f"{m} {r['score_name']}" for m, r in results.items()) + " |")
    print("|---|---|---|" + "---|" * len(results))
    for j, name in enumerate(names):
        kind, amount, size = truth.get(j, ("none", 0.0, "-"))
        cells = [f"{r['score'][j]:.3g}{' *' if r['flags'][j] else ''}" for r in results.values()]
        print(f"| {name} | {kind} {amount:g} | {size} | " + " | ".join(cells) + " |")


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB" if n >= 1024 \
        else f"{n:.0f} B"


def run_config(args: argparse.Namespace, rows: int, seed: int, repeat: int,
               memory: bool) -> tuple[dict[str, dict[str, Any]], dict[int, Any]]:
    """Every method on one seeded data set, each in its own process."""
    ref, cur, truth = make_data(rows, args.features, args.drifted, seed)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "ref.npy", ref)
        np.save(Path(tmp) / "cur.npy", cur)
        del ref, cur
        results = {m: spawn(m, Path(tmp), repeat,
                            args.peer_python if m in PEER_METHODS else sys.executable, memory)
                   for m in args.methods}
    return results, truth


def print_sweep(rows: int, runs: list[tuple[dict[str, dict[str, Any]], dict[int, Any]]],
                names: list[str]) -> None:
    """Decisions summed over seeds: detection rate per drifted feature, false alarms."""
    methods, truth = list(runs[0][0]), runs[0][1]
    stable = len(names) - len(truth)
    print(f"\n#### Decisions over {len(runs)} seeds, {rows:,} current rows\n")
    print("| method | TP | FP | FN | FP per stable feature test | seeds with a false alarm "
          "| mean agreement, kappa vs evidently-ks |")
    print("|---|---|---|---|---|---|---|")
    for m in methods:
        cm = np.array([confusion(r[m]["flags"], set(t)) for r, t in runs])
        agree = np.array([kappa(r[m]["flags"], r["evidently-ks"]["flags"]) for r, _ in runs]) \
            if "evidently-ks" in methods else np.full((1, 2), np.nan)
        tp, fp, fn = cm.sum(axis=0)
        print(f"| {m} | {tp} | {fp} | {fn} | {fp / (stable * len(runs)):.3f} "
              f"| {int((cm[:, 1] > 0).sum())} of {len(runs)} "
              f"| {np.mean(agree[:, 0]):.1%}, {np.nanmean(agree[:, 1]):.2f} |")
    print("\n| drifted feature | drift | size | " + " | ".join(methods) + " |")
    print("|---|---|---|" + "---|" * len(methods))
    for j, (kind, amount, size) in truth.items():
        rates = [np.mean([r[m]["flags"][j] for r, _ in runs]) for m in methods]
        print(f"| {names[j]} | {kind} {amount:g} | {size} | "
              + " | ".join(f"{x:.0%}" for x in rates) + " |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--drifted", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per method (median)")
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--peer-python", default=sys.executable,
                    help="the interpreter with evidently installed (it needs pandas < 3)")
    ap.add_argument("--seeds", type=int, default=1,
                    help="data sets (seed, seed+1, ...) for the decision tally; only the "
                         "first is timed and measured")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--no-memory", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.data, args.repeat, not args.no_memory)))
        return
    if not 0 <= args.drifted <= args.features:
        raise ValueError(f"--drifted must be in [0, --features], got {args.drifted}")
    names, raw = feature_names(args.features), {}
    for rows in args.rows:
        runs = [run_config(args, rows, args.seed, args.repeat, memory=True)]
        print_tables(rows, *runs[0], names=names)
        runs += [run_config(args, rows, s, 1, memory=False)
                 for s in range(args.seed + 1, args.seed + args.seeds)]
        if args.seeds > 1:
            print_sweep(rows, runs, names)
        raw[rows] = [r for r, _ in runs]
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
