"""Detection quality on seeded synthetic streams with known change points.

Protocol (after the Sine1 setup): 100,000 values per stream, changes at 20k, 40k, 60k
and 80k, an alarm within 250 values after a change detects it, any other alarm is
false. Each change flips the stream between two regimes, old -> new -> old -> new ->
old. Streams:

- ``error-abrupt``: a model's 0/1 errors, 10% noise, error rate 0.10 -> 0.30 -> 0.10
  ... switching at the change point.
- ``mean-abrupt``: Gaussian, sd 1, mean 0 -> 1 -> 0 ... switching at the change point.
- ``mean-gradual`` and ``error-gradual``: the same two regimes of each stream, mixed
  the way river's ``synth.ConceptDriftStream(position=p, width=w)`` mixes an old and a
  new concept. river (0.26.1, ``concept_drift_stream.py``) draws sample ``t`` from the
  new concept with probability ``f(t) = 1/(1+e^{-4(t-p)/w})``; its code, with a
  1-based ``sample_idx``, is ``v = -4.0 * float(sample_idx - self.position) /
  float(self.width)`` and ``probability_drift = 1.0 / (1.0 + math.exp(v))``, taking
  the old concept if ``rng.random() > probability_drift`` and the new one otherwise.
  Here value ``i`` (0-based; river's ``t = i + 1``, ``p = c + 1``) comes from the
  regime after change ``c`` with probability ``1/(1+exp(-4(i-c)/WIDTH))``, ``WIDTH =
  1000`` (river's default width), one independent uniform draw per value and change:
  the change point is the sigmoid's centre, river's ``position``, where the mix is
  50/50. The four
  changes are 20,000 values apart, so their sigmoids do not overlap (4e-18 at 10,000
  values). About ``WIDTH * ln(2) / 4`` = 173 values before each centre already come
  from the new regime; alarms there count as false, as any alarm outside the window.

Ours and river's detectors see the same streams; ``always-fire`` alarms on every value.

The calibrated CUSUMs get their thresholds from ``detectors.calibration.calibrate`` on
in-control data only: 20,000 values drawn from the generators' pre-change regime (N(0,
1), or 0/1 errors at rate 0.10) with seed ``REFERENCE_SEED``, disjoint from the test
seeds, bootstrapped into ``CAL_STREAMS`` x ``CAL_LENGTH`` null values; the target is one
false alarm per ``RUN_LENGTH`` values. No change point of a test stream is used.

Run: ``python -m bench.drift --seeds 30``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from river import drift
from river.drift import binary

from detectors.calibration import calibrate
from detectors.change import ADWIN, CUSUM, DDM, EDDM, BernoulliCUSUM, PageHinkley

N, CHANGES, WINDOW = 100_000, (20_000, 40_000, 60_000, 80_000), 250
WIDTH = 1000  # of a gradual change, as river's ConceptDriftStream(width=1000)
REFERENCE_SEED, RUN_LENGTH, CAL_STREAMS, CAL_LENGTH = 10**6, 10**7, 40, 10**6


def reference(kind: str) -> np.ndarray:
    """In-control values of a stream kind: its pre-change regime, from its own seed."""
    rng = np.random.default_rng(REFERENCE_SEED)
    if kind == "binary":
        return (rng.random(20_000) < 0.1).astype(float)
    return rng.normal(0.0, 1.0, 20_000)


def calibrated() -> tuple[dict[str, tuple[str, Factory]], dict[str, tuple[str, Factory]]]:
    """Calibrate the CUSUMs on in-control data; print what they used and found."""
    def cusum(h: float) -> CUSUM:
        return CUSUM(k=0.5, threshold=h, warm_start=1000)

    def bernoulli(odds: float) -> Callable[[float], BernoulliCUSUM]:
        return lambda h: BernoulliCUSUM(odds_ratio=odds, threshold=h, warm_start=4000)

    specs: list[tuple[str, str, Callable[[float], Any]]] = [
        ("real", "ours CUSUM (k=0.5, calibrated h={:.2f})", cusum),
        ("binary", "ours BernoulliCUSUM (odds 2, calibrated h={:.2f})", bernoulli(2.0)),
        ("binary", "ours BernoulliCUSUM (odds 3, calibrated h={:.2f})", bernoulli(3.0)),
    ]
    rows: dict[str, dict[str, tuple[str, Factory]]] = {"real": {}, "binary": {}}
    for kind, label, factory in specs:
        started = time.perf_counter()
        cal = calibrate(factory, reference(kind), run_length=RUN_LENGTH, low=3.0, high=40.0,
                        n_streams=CAL_STREAMS, length=CAL_LENGTH, seed=REFERENCE_SEED + 1,
                        iterations=12)
        print(f"calibrated {factory(cal.threshold)!r} on {kind} in-control data: "
              f"{cal.realised_rate * cal.n_values:.0f} alarms in {cal.n_values:,} null values "
              f"(target 1 per {RUN_LENGTH:,}), {time.perf_counter() - started:.0f} s")
        rows[kind][label.format(cal.threshold)] = ("ours", partial(factory, cal.threshold))
    return rows["real"], rows["binary"]


def regime(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Which regime each value is drawn from: 0 (pre-change) or 1 (shifted)."""
    index = np.arange(N)
    level = np.zeros(N)
    for i, c in enumerate(CHANGES):
        step = 1.0 if i % 2 == 0 else -1.0
        if kind.endswith("-gradual"):
            # river's ConceptDriftStream: the new concept unless u > 1/(1+e^{-4(t-p)/w})
            level += step * (rng.random(N) <= 1.0 / (1.0 + np.exp(-4.0 * (index - c) / WIDTH)))
        else:
            level += step * (index >= c)
    return level


def stream(kind: str, seed: int) -> np.ndarray:
    """One seeded test stream of a kind; see the module docstring."""
    rng = np.random.default_rng(seed)
    level = regime(kind, rng)
    if kind.startswith("error-"):
        return (rng.random(N) < 0.1 + 0.2 * level).astype(float)
    return rng.normal(level, 1.0)


def score(alarms: list[int]) -> dict[str, float]:
    alarms_arr = np.asarray(alarms)
    delays, matched = [], np.zeros(alarms_arr.size, dtype=bool)
    for c in CHANGES:
        inside = np.flatnonzero((alarms_arr >= c) & (alarms_arr < c + WINDOW))
        if inside.size:
            delays.append(alarms_arr[inside[0]] - c)
        matched[inside] = True
    tp = len(delays)
    fp = int((~matched).sum())
    # a missed change is charged the whole window, so a detector that finds few changes
    # is not rewarded for finding only the easy ones early
    charged = (sum(delays) + WINDOW * (len(CHANGES) - tp)) / len(CHANGES)
    return {"tp": tp, "fp": fp, "delay": float(np.mean(delays)) if delays else np.nan,
            "charged": float(charged), "f1": 2 * tp / (2 * tp + fp + len(CHANGES) - tp)}


def summary(scores: list[dict[str, float]], stable: int) -> dict[str, float]:
    """One table row from the per-seed scores of a detector.

    ``delay`` is the mean over seeds of each seed's mean delay (seeds that detected
    nothing left out), ``charged`` the mean charged delay, ``missed`` the mean number of
    missed changes per seed, ``fa`` the total false alarms and ``fa_rate`` false alarms
    per 10^5 of the ``stable`` values of a stream.
    """
    detected = [r["delay"] for r in scores if r["tp"]]
    return {"delay": float(np.mean(detected)) if detected else float("nan"),
            "charged": float(np.mean([r["charged"] for r in scores])),
            "missed": float(np.mean([len(CHANGES) - r["tp"] for r in scores])),
            "detected": int(sum(r["tp"] for r in scores)),
            "fa": int(sum(r["fp"] for r in scores)),
            "fa_rate": float(np.mean([r["fp"] for r in scores]) / stable * 1e5),
            "f1": float(np.mean([r["f1"] for r in scores]))}


def river_alarms(det: Any, values: np.ndarray) -> list[int]:
    out = []
    for i, x in enumerate(values.tolist()):
        det.update(x)
        if det.drift_detected:
            out.append(i)
    return out


def alarms_of(side: str, make: Callable[[], Any], values: np.ndarray) -> list[int]:
    """Alarm positions of a fresh detector on ``values``: ours batched, river's per value."""
    return make().update_many(values).tolist() if side == "ours" else river_alarms(
        make(), values)


Factory = Callable[[], Any]
REAL: dict[str, tuple[str, Factory]] = {
    "ours ADWIN": ("ours", ADWIN), "river ADWIN": ("river", drift.ADWIN),
    "ours PageHinkley": ("ours", PageHinkley), "river PageHinkley": ("river", drift.PageHinkley),
    "ours CUSUM (k=0.5, h=10)": ("ours", CUSUM),
}
BINARY: dict[str, tuple[str, Factory]] = {
    "ours DDM": ("ours", DDM), "river DDM": ("river", binary.DDM),
    "ours EDDM": ("ours", EDDM), "river EDDM": ("river", binary.EDDM),
    "river HDDMA": ("river", binary.HDDMA), "river HDDMW": ("river", binary.HDDMW),
    "ours ADWIN": ("ours", ADWIN), "river ADWIN": ("river", drift.ADWIN),
    "ours CUSUM (k=0.5, h=10)": ("ours", CUSUM),
}


def run(seeds: int) -> None:
    stable = N - len(CHANGES) * WINDOW
    extra_real, extra_binary = calibrated()
    for kind in ("error-abrupt", "mean-abrupt", "error-gradual", "mean-gradual"):
        detectors = {**BINARY, **extra_binary} if kind.startswith("error-") else {
            **REAL, **extra_real}
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in detectors}
        rows["always-fire"] = []
        for seed in range(seeds):
            values = stream(kind, seed)
            for name, (side, make) in detectors.items():
                rows[name].append(score(alarms_of(side, make, values)))
            rows["always-fire"].append(score(list(range(N))))
        print(f"\n### {kind} ({seeds} seeds x {N:,} values)\n")
        print("| detector | mean delay | mean delay, a miss = 250 | missed drifts (of 4) "
              "| false alarms / 1e5 stable (total) | F1 |")
        print("|---|---|---|---|---|---|")
        for name, res in rows.items():
            row = summary(res, stable)
            print(f"| {name} | {row['delay']:.1f} | {row['charged']:.1f} | {row['missed']:.2f} "
                  f"| {row['fa_rate']:.2f} ({row['fa']}) | {row['f1']:.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    started = time.perf_counter()
    run(parser.parse_args().seeds)
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
