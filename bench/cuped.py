"""CUPED on simulated units (pre-period correlation 0.5): ours beside GrowthBook's CUPED.

Methods, on the same units (regenerated from the same seeds by
:mod:`bench.cuped_streams`; the peer's checksum must equal ours), a look after every block
of units, no decision before 100 units per arm, alpha 0.05 two-sided, absolute difference:

- ``ours``: the mixture SPRT of :mod:`detectors.ab.mixture_sprt` (tuning 5,000) on the raw
  outcome;
- ``ours CUPED``: the same test on the CUPED-adjusted arms of :mod:`detectors.ab.cuped`
  (theta pooled over both arms, recomputed at every look);
- ``gbstats`` and ``gbstats CUPED``: GrowthBook 0.8.0's ``SequentialTwoSidedTTest`` on
  ``SampleMeanStatistic`` and on ``RegressionAdjustedStatistic`` with its ``compute_theta``,
  run in its own venv by ``bench/cuped_peer.py`` (skipped without ``--peer-python``).

The vectorised path here is checked against the library's scalar one
(:func:`detectors.ab.cuped.adjusted_arms` on :class:`BivariateSummary` objects) on sampled
looks of the first chunk.

Run::

    python -m bench.cuped --reps 10000 --peer-python ~/.cache/inferwatch/venv-gbstats/bin/python
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

from bench.ab_streams import first_decision
from bench.cuped_streams import MIN_UNITS, SD, checksum, cuped_chunks
from detectors.ab.bivariate import BivariateSummary
from detectors.ab.cuped import adjusted_arms
from detectors.ab.mixture_sprt import DEFAULT_TUNING_N, log_likelihood_ratio, mixing_variance

ALPHA, RHO = 0.05, 0.5


def fixed_horizon(lift: float, alpha: float = ALPHA, power: float = 0.8) -> int:
    """Units per arm a fixed-horizon two-sided z-test of the raw outcome needs."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(2 * z * z * SD * SD / (lift * lift))


def arm_moments(s: dict[str, np.ndarray], theta: Any = 0.0, centre: Any = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ML variance of ``y - theta (x - centre)`` per look (vectorised)."""
    n = s["n"]
    mean = (s["y"] - theta * (s["x"] - n * centre)) / n
    var_y = s["yy"] / n - (s["y"] / n) ** 2
    var_x = s["xx"] / n - (s["x"] / n) ** 2
    cov = s["xy"] / n - s["x"] * s["y"] / (n * n)
    return mean, var_y + theta * theta * var_x - 2.0 * theta * cov


def pooled_theta(a: dict[str, np.ndarray], b: dict[str, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """theta over both arms' units, and the pooled mean of x (vectorised)."""
    n = a["n"] + b["n"]
    sx, sy = a["x"] + b["x"], a["y"] + b["y"]
    cov = (a["xy"] + b["xy"]) / n - sx * sy / (n * n)
    var_x = (a["xx"] + b["xx"]) / n - (sx / n) ** 2
    return cov / var_x, sx / n


def decisions(a: dict[str, np.ndarray], b: dict[str, np.ndarray]
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    theta, centre = pooled_theta(a, b)
    out = {}
    ok = (a["n"] >= MIN_UNITS) & (b["n"] >= MIN_UNITS)
    for name, th in (("ours", 0.0), ("ours CUPED", theta)):
        (m_a, v_a), (m_b, v_b) = arm_moments(a, th, centre), arm_moments(b, th, centre)
        d, v = m_b - m_a, v_a / a["n"] + v_b / b["n"]
        tau2 = mixing_variance(v, a["n"] + b["n"], ALPHA, DEFAULT_TUNING_N)
        crosses = ok & (log_likelihood_ratio(d, v, tau2) >= -math.log(ALPHA))
        out[name] = first_decision(crosses, d)
    return out


def summary_at(s: dict[str, np.ndarray], r: int, c: int) -> BivariateSummary:
    """The library's summary of one arm at replicate ``r``, look ``c``."""
    arm = BivariateSummary()
    arm.restore({"n": s["n"][r, c], "sum_y": s["y"][r, c], "sum_x": s["x"][r, c],
                 "sum_yy": s["yy"][r, c], "sum_xx": s["xx"][r, c], "sum_xy": s["xy"][r, c]})
    return arm


def scalar_check(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """The largest relative difference of the adjusted difference and its variance between
    this vectorised path and the library's scalar one, on sampled looks."""
    theta, centre = pooled_theta(a, b)
    (m_a, v_a), (m_b, v_b) = arm_moments(a, theta, centre), arm_moments(b, theta, centre)
    rng = np.random.default_rng(0)
    worst = 0.0
    rows, cols = a["n"].shape
    for r, c in zip(rng.integers(0, rows, 200), rng.integers(0, cols, 200), strict=True):
        adj_a, adj_b, _ = adjusted_arms(summary_at(a, r, c), summary_at(b, r, c))
        for ours, lib in ((m_b[r, c] - m_a[r, c], adj_b.mean - adj_a.mean),
                          (v_a[r, c] + v_b[r, c], adj_a.variance + adj_b.variance)):
            worst = max(worst, abs(ours - lib) / max(abs(lib), 1e-12))
    return worst


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    total, worst = 0.0, 0.0
    for i, (a, b) in enumerate(cuped_chunks(cell, cell["reps"], cell["chunk"])):
        if i == 0:
            total, worst = checksum(a, b), scalar_check(a, b)
        for name, res in decisions(a, b).items():
            parts.setdefault(name, []).append(res)
    methods = {k: (np.concatenate([f for f, _ in v]), np.concatenate([s for _, s in v]))
               for k, v in parts.items()}
    return {"methods": methods, "checksum": total, "scalar_max_rel_diff": worst}


def _peer(peer_python: str, cells: dict[str, Any]) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"cells": cells}, f)
    done = subprocess.run([peer_python, str(Path(__file__).with_name("cuped_peer.py")),
                           f.name], capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--lift", type=float, default=0.25)
    ap.add_argument("--peer-python", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    fixed = fixed_horizon(args.lift)
    block = max(1, round(5 * fixed / 200))
    cells = {"no difference": {"lift": 0.0, "block": 10, "looks": 1000},
             f"lift {args.lift}": {"lift": args.lift, "block": block, "looks": 200}}
    for j, cell in enumerate(cells.values()):
        cell.update(rho=RHO, seed=200 + j, reps=args.reps, chunk=args.chunk)
    results = {name: run_cell(cell) for name, cell in cells.items()}
    t_ours = time.perf_counter() - t0
    if args.peer_python:
        peer = _peer(args.peer_python, cells)
        for name, res in peer["cells"].items():
            ours = results[name]["checksum"]
            assert abs(res["checksum"] - ours) <= 1e-9 * abs(ours), f"{name}: units differ"
            for method, (first, sign) in res["methods"].items():
                results[name]["methods"][method] = (np.array(first), np.array(sign))
            results[name]["peer_scalar"] = res["scalar_max_abs_diff"]
    report(cells, results, fixed, args.reps, time.perf_counter() - t0, t_ours)


def _share(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    return f"{k / n:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def report(cells: dict[str, Any], results: dict[str, Any], fixed: int, reps: int,
           wall: float, t_ours: float) -> None:
    print(f"replicates per cell: {reps}; rho {RHO}; wall {wall:.0f} s (ours: {t_ours:.0f} s); "
          f"fixed-horizon n per arm without CUPED: {fixed}")
    for name, res in results.items():
        print(f"{name}: vectorised vs detectors.ab.cuped, largest relative difference "
              f"{res['scalar_max_rel_diff']:.1e}" + (
                  f"; gbstats array vs scalar path, largest interval difference "
                  f"{res['peer_scalar']:.1e}; checksums equal" if "peer_scalar" in res else ""))
    print("\n| cell | units per look per arm | method | decided (share, 95% CI) | wrong sign | "
          "median units per arm / fixed | p90 | same look and sign as its counterpart |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in results.items():
        block, lift = cells[name]["block"], cells[name]["lift"]
        medians = {}
        for method, (first, sign) in res["methods"].items():
            twin = method.replace("ours", "gbstats") if "ours" in method else \
                method.replace("gbstats", "ours")
            ref_first, ref_sign = res["methods"].get(twin, (first, sign))
            right = (first >= 0) & ((sign > 0) if lift else True)
            at = np.where(right, block * (first + 1) / fixed, np.inf)
            q = [float(np.quantile(at, p, method="inverted_cdf")) for p in (0.5, 0.9)]
            medians[method] = q[0]
            same = ((first == ref_first) & (sign == ref_sign)).mean()
            wrong = _share(int(((first >= 0) & (sign < 0)).sum()), reps) if lift else "-"
            speed = " | ".join(">horizon" if math.isinf(x) else f"{x:.3f}" for x in q) \
                if lift else "- | -"
            print(f"| {name} | {block} | {method} | {_share(int((first >= 0).sum()), reps)} | "
                  f"{wrong} | {speed} | {same:.4f} |")
        if lift:
            print(f"| {name} | | CUPED / no CUPED, median units (ours) | | | "
                  f"{medians['ours CUPED'] / medians['ours']:.3f} x | | |")


if __name__ == "__main__":
    main()
