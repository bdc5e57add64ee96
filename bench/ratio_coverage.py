"""Coverage of ratio-metric intervals (revenue per session, the delta method) over replicates.

Units are users. Each has ``1 + Poisson(2)`` sessions, a taste ``~ Gamma(2, 1/2)`` (mean 1)
and revenue ``~ Gamma(2 sessions, per_session * taste / 2)``, so sessions of one user are
correlated (the taste) and the true revenue per session is ``per_session`` exactly: 4.0 in
the champion's arm, 4.4 in the challenger's. Each replicate grows both arms by 100 users a
look, to 10,000 users per arm. Measured, per replicate:

- the fixed-``n`` 95% interval of one arm's ratio (:func:`detectors.ab.ratio.ratio_of_means`)
  and of the difference of the two (:func:`detectors.ab.ratio.ratio_difference`), read at
  100, 1,000 and 10,000 users per arm: each should cover at about 95%;
- the always-valid 95% sequence of the difference (the linearised arms of
  :func:`detectors.ab.ratio.linearised_arm` in the mixture SPRT's interval, tuning 5,000):
  it should hold the true difference at *every* look at once, at 95% or more.

The vectorised delta method here is checked against the library's scalar functions on
sampled looks.

Run::

    python -m bench.ratio_coverage --reps 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from bench.cuped import summary_at
from detectors.ab.mixture_sprt import DEFAULT_TUNING_N, halfwidth, mixing_variance
from detectors.ab.ratio import ratio_difference, ratio_of_means

ALPHA, BLOCK, LOOKS = 0.05, 100, 100
RATIOS = (4.0, 4.4)
READ_AT = (100, 1_000, 10_000)


def arm_sums(rng: np.random.Generator, reps: int, per_session: float) -> dict[str, np.ndarray]:
    """Cumulative sums per look of one arm: n, y (revenue), x (sessions), yy, xx, xy."""
    sessions = 1 + rng.poisson(2.0, (reps, LOOKS, BLOCK))
    taste = rng.gamma(2.0, 0.5, (reps, LOOKS, BLOCK))
    revenue = rng.gamma(2.0 * sessions, per_session * taste / 2.0)
    x = sessions.astype(np.float64)
    sums = {"n": np.broadcast_to(BLOCK * np.arange(1, LOOKS + 1, dtype=np.float64),
                                 (reps, LOOKS))}
    for name, v in (("y", revenue), ("x", x), ("yy", revenue ** 2), ("xx", x * x),
                    ("xy", x * revenue)):
        sums[name] = np.cumsum(v.sum(axis=2), axis=1)
    return sums


def delta(s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The ratio per look and the delta method's variance of it (vectorised)."""
    n = s["n"]
    my, mx = s["y"] / n, s["x"] / n
    r = my / mx
    var_y, var_x, cov = s["yy"] / n - my * my, s["xx"] / n - mx * mx, s["xy"] / n - mx * my
    return r, (var_y - 2.0 * r * cov + r * r * var_x) / (n * mx * mx)


def scalar_check(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """The largest relative difference from :mod:`detectors.ab.ratio` on sampled looks."""
    (ra, va), (rb, vb) = delta(a), delta(b)
    rng = np.random.default_rng(0)
    worst = 0.0
    for r, c in zip(rng.integers(0, ra.shape[0], 100), rng.integers(0, LOOKS, 100),
                    strict=True):
        arm_a, arm_b = summary_at(a, r, c), summary_at(b, r, c)
        lib_a, lib_d = ratio_of_means(arm_a), ratio_difference(arm_a, arm_b)
        for ours, lib in ((ra[r, c], lib_a.estimate), (va[r, c], lib_a.variance),
                          (rb[r, c] - ra[r, c], lib_d.estimate),
                          (va[r, c] + vb[r, c], lib_d.variance)):
            worst = max(worst, abs(ours - lib) / abs(lib))
    return worst


def run(reps: int, chunk: int) -> dict[str, np.ndarray]:
    """Per replicate: covered or not, for each interval and read-out."""
    rng = np.random.default_rng(300)
    z = stats.norm.isf(ALPHA / 2)
    at = [n // BLOCK - 1 for n in READ_AT]
    out: dict[str, list[np.ndarray]] = {}
    worst = 0.0
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        a, b = arm_sums(rng, r, RATIOS[0]), arm_sums(rng, r, RATIOS[1])
        if start == 0:
            worst = scalar_check(a, b)
        (ra, va), (rb, vb) = delta(a), delta(b)
        d, v = rb - ra, va + vb
        true_d = RATIOS[1] - RATIOS[0]
        arm_ok = np.abs(ra - RATIOS[0]) <= z * np.sqrt(va)
        diff_ok = np.abs(d - true_d) <= z * np.sqrt(v)
        w = halfwidth(v, mixing_variance(v, a["n"] + b["n"], ALPHA, DEFAULT_TUNING_N), ALPHA)
        for name, ok in (("arm", arm_ok), ("difference", diff_ok)):
            for n, col in zip(READ_AT, at, strict=True):
                out.setdefault(f"{name} at {n}", []).append(ok[:, col])
        out.setdefault("sequence, every look", []).append((np.abs(d - true_d) < w).all(axis=1))
    result = {k: np.concatenate(v) for k, v in out.items()}
    result["scalar_max_rel_diff"] = np.array([worst])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=100)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = run(args.reps, args.chunk)
    worst = float(res.pop("scalar_max_rel_diff")[0])
    print(f"replicates: {args.reps}; revenue per session {RATIOS[0]} vs {RATIOS[1]}; "
          f"{BLOCK} users per arm a look, {LOOKS} looks; wall {time.perf_counter() - t0:.0f} s;"
          f" vectorised vs detectors.ab.ratio, largest relative difference {worst:.1e}\n")
    print("| interval | users per arm | covered (share, 95% CI) | nominal |\n|---|---|---|---|")
    for key, ok in res.items():
        name, _, n = key.partition(" at ")
        label = {"arm": "one arm's ratio, fixed n",
                 "difference": "difference of ratios, fixed n"}.get(name, key)
        k = int(ok.sum())
        ci = stats.binomtest(k, ok.size).proportion_ci(0.95)
        nominal = f">= {1 - ALPHA:.2f} at all looks at once" if not n else f"{1 - ALPHA:.2f}"
        print(f"| {label} | {n or f'{BLOCK} to {BLOCK * LOOKS}'} | {k / ok.size:.4f} "
              f"[{ci.low:.4f}, {ci.high:.4f}] | {nominal} |")


if __name__ == "__main__":
    main()
