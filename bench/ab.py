"""A/B decisions on simulated streams: ours, a naive t-test at every look, and GrowthBook.

Methods, on the same streams (regenerated from the same seeds by :mod:`bench.ab_streams`;
the peer's checksum must equal ours), all with the same burn-in (100 units and 25
conversions per arm) and alpha 0.05, two-sided:

- ``ours``: the mixture SPRT of :mod:`detectors.ab.mixture_sprt` (tuning 5,000 units);
- ``naive``: a z-test of the difference (Welch, unpooled) re-run at every look, the usual
  fixed-horizon test read as if each look were the last;
- ``gbstats``: GrowthBook 0.8.0's ``SequentialTwoSidedTTest`` (absolute difference), run
  in its own venv by ``bench/ab_peer.py`` (skipped without ``--peer-python``).

Cells: no difference (``p0`` = 10%), a look after every event; relative lifts of 2, 5, 10
and 20% on ``p0``, ``--looks`` looks up to ``--horizon-factor`` times the fixed-horizon
sample size (two-sided 0.05, power 0.8); SRM: a 50/50 split served as 52/48, and served
50/50, sequential Dirichlet-multinomial test at 0.001 against GrowthBook's ``check_srm``
chi-square (p < 0.001) re-run at every look.

Run::

    python -m bench.ab --reps 10000 --peer-python ~/.cache/inferwatch/venv-gbstats/bin/python
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bench.ab_streams import (
    burnt_in,
    checksum,
    difference,
    experiment_chunks,
    first_decision,
    srm_chunks,
)
from detectors.ab.mixture_sprt import DEFAULT_TUNING_N, log_likelihood_ratio, rho_squared
from detectors.ab.srm import log_bayes_factor

ALPHA, SRM_LEVEL, P0 = 0.05, 0.001, 0.10
LIFTS = (0.02, 0.05, 0.10, 0.20)


def fixed_horizon(p0: float, lift: float, alpha: float = ALPHA, power: float = 0.8) -> int:
    """Units per arm a fixed-horizon two-sided z-test needs for ``power`` at this lift."""
    p1 = p0 * (1 + lift)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(z * z * (p0 * (1 - p0) + p1 * (1 - p1)) / (p1 - p0) ** 2)


def _decides(n_a: Any, s_a: Any, n_b: Any, s_b: Any) -> dict[str, tuple[Any, Any]]:
    d, v = difference(n_a, s_a, n_b, s_b)
    ok = burnt_in(n_a, s_a, n_b, s_b) & (v > 0)
    v = np.where(ok, v, 1.0)
    tau2 = v * (n_a + n_b) * rho_squared(ALPHA, DEFAULT_TUNING_N)
    ours = ok & (log_likelihood_ratio(d, v, tau2) >= -math.log(ALPHA))
    naive = ok & (np.abs(d) >= stats.norm.ppf(1 - ALPHA / 2) * np.sqrt(v))
    return {"ours": first_decision(ours, d), "naive": first_decision(naive, d)}


def run_experiment_cell(cell: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ours": ([], []), "naive": ([], [])}
    total = 0
    for i, chunk in enumerate(experiment_chunks(cell, cell["reps"], cell["chunk"])):
        if i == 0:
            total = checksum(chunk)
        for name, (first, sign) in _decides(*chunk).items():
            out[name][0].append(first)
            out[name][1].append(sign)
    res = {k: (np.concatenate(f), np.concatenate(s)) for k, (f, s) in out.items()}
    return {"methods": res, "checksum": total}


def run_srm_cell(cell: dict[str, Any]) -> dict[str, Any]:
    every, looks = cell["every"], cell["looks"]
    units = every * np.arange(1, looks + 1)
    crit = stats.chi2.isf(SRM_LEVEL, 1)
    firsts: dict[str, list[np.ndarray]] = {"ours": [], "naive": []}
    for n_b in srm_chunks(cell, cell["reps"], cell["chunk"]):
        counts = np.stack([units - n_b, n_b], axis=-1)
        ours = log_bayes_factor(counts, [0.5, 0.5]) >= -math.log(SRM_LEVEL)
        chi = (2.0 * n_b - units) ** 2 / units  # sum of (o - e)^2 / e, two arms of e = n/2
        for name, flags in (("ours", ours), ("naive", chi >= crit)):
            firsts[name].append(first_decision(flags, flags.astype(float))[0])
    return {k: np.concatenate(v) for k, v in firsts.items()}


def _peer(peer_python: str, cells: dict[str, Any], srm_counts: list[list[int]]) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"cells": cells, "srm_counts": srm_counts}, f)
    done = subprocess.run([peer_python, str(Path(__file__).with_name("ab_peer.py")), f.name],
                          capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    return json.loads(done.stdout)


def _share_ci(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    return f"{k / n:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def _quantile(x: np.ndarray, q: float) -> str:
    v = float(np.quantile(x, q, method="inverted_cdf"))
    return ">horizon" if math.isinf(v) else f"{v:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=250)
    ap.add_argument("--null-events", type=int, default=20_000)
    ap.add_argument("--looks", type=int, default=2_000)
    ap.add_argument("--horizon-factor", type=float, default=5.0)
    ap.add_argument("--srm-units", type=int, default=100_000)
    ap.add_argument("--peer-python", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cells: dict[str, dict[str, Any]] = {"null": {
        "kind": "null", "events": args.null_events, "p0": P0, "seed": 1, "reps": args.reps,
        "chunk": args.chunk}}
    fixed = {}
    for j, lift in enumerate(LIFTS):
        fixed[lift] = n = fixed_horizon(P0, lift)
        block = max(1, round(args.horizon_factor * n / args.looks))
        cells[f"lift {lift:.0%}"] = {"kind": "lift", "lift": lift, "p0": P0, "block": block,
                                     "looks": args.looks, "seed": 10 + j, "reps": args.reps,
                                     "chunk": args.chunk}
    results = {name: run_experiment_cell(cell) for name, cell in cells.items()}
    t_ours = time.perf_counter() - t0
    srm_cells = {"50/50 served 52/48": {"share": 0.48, "every": 10,
                                        "looks": args.srm_units // 10},
                 "50/50 served 50/50": {"share": 0.5, "every": 1, "looks": args.null_events}}
    srm = {}
    for j, (name, cell) in enumerate(srm_cells.items()):
        cell.update(seed=100 + j, reps=args.reps, chunk=args.chunk)
        srm[name] = run_srm_cell(cell)
    sample = next(srm_chunks(srm_cells["50/50 served 52/48"], 1, 1))[0, :200]
    srm_counts = [[int(b), 10 * (i + 1)] for i, b in enumerate(sample)]
    peer = None
    if args.peer_python:
        peer = _peer(args.peer_python, cells, srm_counts)
        for name, cell in peer["cells"].items():
            assert cell["checksum"] == results[name]["checksum"], f"{name}: streams differ"
            results[name]["methods"]["gbstats"] = (np.array(cell["first"]),
                                                   np.array(cell["sign"]))
        ours_chi = [(2.0 * b - n) ** 2 / n for b, n in srm_counts]
        srm_diff = max(abs(p - stats.chi2.sf(c, 1)) for p, c in zip(peer["check_srm"], ours_chi,
                                                                     strict=True))
    report(args, cells, results, fixed, srm, srm_cells, peer,
           srm_diff if peer else None, time.perf_counter() - t0, t_ours)
    if args.json:
        args.json.write_text(json.dumps({name: {m: {"first": f.tolist(), "sign": s.tolist()}
                                                for m, (f, s) in r["methods"].items()}
                                         for name, r in results.items()}))


def report(args: Any, cells: dict[str, Any], results: dict[str, Any], fixed: dict[float, int],
           srm: dict[str, Any], srm_cells: dict[str, Any], peer: Any, srm_diff: float | None,
           wall: float, t_ours: float) -> None:
    reps = args.reps
    print(f"replicates per cell: {reps}; wall {wall:.0f} s (ours and naive: {t_ours:.0f} s)")
    if peer:
        worst = max(c["scalar_max_abs_diff"] for c in peer["cells"].values())
        print(f"gbstats: array path vs its scalar path, largest interval difference {worst:.2e};"
              f" check_srm vs our chi-square, largest p difference {srm_diff:.2e}; "
              "stream checksums equal")
    print(f"\n### No difference, p0 = {P0:.0%}, a look after every event "
          f"({args.null_events} events)\n")
    print("| method | false decisions (share, 95% CI) | alpha |\n|---|---|---|")
    for m, (first, _) in results["null"]["methods"].items():
        print(f"| {m} | {_share_ci(int((first >= 0).sum()), reps)} | {ALPHA} |")
    print(f"\n### True lifts on p0 = {P0:.0%}: {args.looks} looks up to "
          f"{args.horizon_factor:g} x the fixed-horizon sample size\n")
    print("| lift | fixed-horizon n per arm | units per look per arm | method | power | "
          "wrong sign | median n / fixed | p90 n / fixed |\n|---|---|---|---|---|---|---|---|")
    for lift in LIFTS:
        name, n = f"lift {lift:.0%}", fixed[lift]
        block = cells[name]["block"]
        for m, (first, sign) in results[name]["methods"].items():
            right = (first >= 0) & (sign > 0)
            at = np.where(right, block * (first + 1) / n, np.inf)
            print(f"| {lift:.0%} | {n} | {block} | {m} | {right.mean():.4f} | "
                  f"{((first >= 0) & (sign < 0)).mean():.4f} | {_quantile(at, 0.5)} | "
                  f"{_quantile(at, 0.9)} |")
    print(f"\n### Sample-ratio mismatch at {SRM_LEVEL}\n")
    print("| split | looks | method | flagged (share, 95% CI) | median units to flag | "
          "p90 units to flag |\n|---|---|---|---|---|---|")
    for name, res in srm.items():
        every, looks = srm_cells[name]["every"], srm_cells[name]["looks"]
        for m, first in res.items():
            units = np.where(first >= 0, every * (first + 1), np.inf)
            label = "Dirichlet-multinomial BF (ours)" if m == "ours" else \
                "chi-square at every look (gbstats check_srm)"
            print(f"| {name} | every {every} units to {every * looks} | {label} | "
                  f"{_share_ci(int((first >= 0).sum()), reps)} | {_quantile(units, 0.5)} | "
                  f"{_quantile(units, 0.9)} |")


if __name__ == "__main__":
    main()
