"""Mean delay at matched false alarms: ours against river's, setting by setting.

``bench.drift`` compares each detector at one setting: river's at its defaults, ours
at the threshold calibrated on in-control data. Its goal, "at equal or fewer false
alarms than river's best detector, a shorter mean delay", is a comparison at matched
false alarms, and a detector's delay and false alarms trade against each other through
its threshold. This bench makes the comparison at matched false alarms, without
looking at the test streams to choose a threshold:

1. river's detector runs at each setting of a grid (its default among them), and ours
   at each threshold of a grid, on ``--seeds`` *validation* streams (seeds from
   ``VALIDATION_SEED``, disjoint from the test seeds 0, 1, ... of ``bench.drift`` and
   from its calibration seeds);
2. for each river setting, ours takes, of the thresholds of its grid that have at most
   river's false alarms on the validation streams, the one with the least mean delay
   there; once by the goal's mean delay (over the changes detected), once by the mean
   delay with a missed change charged the whole window (``bench.drift``'s second one);
3. both are then scored on the test streams, the same as ``bench.drift``'s, side by
   side. A pair meets the goal where ours has at most river's false alarms and a
   shorter mean delay on the test streams.

Ours is ``CUSUM(k=0.5, warm_start=1000)`` on the Gaussian streams and
``BernoulliCUSUM(odds_ratio=2, warm_start=4000)`` on the 0/1 error streams, the
detectors of ``bench.drift``'s calibrated rows with only ``h`` varied. River's are the
detectors with the fewest false alarms or the best F1 in ``bench.drift``: ADWIN
(``delta``) and Page-Hinkley (``threshold``) on the Gaussian streams, ADWIN and HDDM_A
(``drift_confidence``) on the error streams.

Run: ``python -m bench.drift_tradeoff --seeds 30``
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

from bench.drift import CHANGES, WINDOW, N, alarms_of, score, stream, summary
from detectors.change import CUSUM, BernoulliCUSUM

VALIDATION_SEED = 10_000
STABLE = N - len(CHANGES) * WINDOW
OURS_GRID = np.round(np.arange(4.0, 30.001, 0.25), 2)


def ours(kind: str) -> tuple[str, Callable[[float], Any]]:
    """Our detector for a stream kind, as a function of its threshold ``h``."""
    if kind.startswith("error-"):
        return "BernoulliCUSUM (odds 2)", lambda h: BernoulliCUSUM(
            odds_ratio=2.0, threshold=h, warm_start=4000)
    return "CUSUM (k=0.5)", lambda h: CUSUM(k=0.5, threshold=h, warm_start=1000)


def river_grid(kind: str) -> dict[str, Callable[[], Any]]:
    """River's settings for a stream kind, defaults marked, by label."""
    adwin = {f"ADWIN delta={d:g}{' (default)' if d == 0.002 else ''}": partial(
        drift.ADWIN, delta=d) for d in (1e-5, 1e-4, 5e-4, 0.002, 0.01, 0.05)}
    if kind.startswith("error-"):
        return adwin | {f"HDDM_A confidence={c:g}{' (default)' if c == 0.001 else ''}": partial(
            binary.HDDMA, drift_confidence=c) for c in (1e-5, 1e-4, 0.001, 0.01)}
    return adwin | {f"PageHinkley threshold={t:g}{' (default)' if t == 50 else ''}": partial(
        drift.PageHinkley, threshold=t) for t in (25, 50, 100, 200, 400)}


def run_on(side: str, make: Callable[[], Any], streams: list[np.ndarray]) -> dict[str, float]:
    """One detector setting over a set of streams: a ``bench.drift.summary`` row."""
    return summary([score(alarms_of(side, make, v)) for v in streams], STABLE)


def matched(curve: dict[float, dict[str, float]], false_alarms: int, key: str) -> float | None:
    """Of the thresholds with at most ``false_alarms``, the one of least ``key`` delay.

    On a gradual stream false alarms are not monotone in the threshold: a low one fires
    before the change's centre, a high one after its window, and both count as false;
    so every threshold of the grid is a candidate. A threshold that detects nothing has
    no mean delay and is not chosen by it. Ties go to the higher threshold.
    """
    fits = [h for h, row in curve.items()
            if row["fa"] <= false_alarms and not np.isnan(row[key])]
    return min(fits, key=lambda h: (curve[h][key], -h)) if fits else None


def fmt(row: dict[str, float]) -> str:
    delay = "n/a" if np.isnan(row["delay"]) else f"{row['delay']:.1f}"
    return f"{row['fa']} | {row['detected']} | {delay} | {row['charged']:.1f}"


def verdict(river: dict[str, float], ours_row: dict[str, float], key: str) -> str:
    if ours_row["fa"] > river["fa"]:
        return "no: more false alarms"
    if np.isnan(river[key]):
        return "yes: river finds none"
    return "yes" if ours_row[key] < river[key] else "no"


CRITERIA = {"delay": "the least mean delay (the goal's)",
            "charged": f"the least mean delay with a miss charged {WINDOW}"}


def run(seeds: int) -> None:
    for kind in ("error-abrupt", "mean-abrupt", "error-gradual", "mean-gradual"):
        started = time.perf_counter()
        validation = [stream(kind, VALIDATION_SEED + s) for s in range(seeds)]
        test = [stream(kind, s) for s in range(seeds)]
        name, factory = ours(kind)
        curve = {h: run_on("ours", partial(factory, h), validation) for h in OURS_GRID}
        river = {label: (run_on("river", make, validation)["fa"], run_on("river", make, test))
                 for label, make in river_grid(kind).items()}
        for key, criterion in CRITERIA.items():
            print(f"\n### {kind}: ours chosen by {criterion} ({seeds} validation + {seeds} "
                  f"test seeds x {N:,} values)\n")
            print(f"Ours: {name}, its h the one of {criterion} on the validation seeds among "
                  "those with at most river's false alarms there. Columns per side (test "
                  f"seeds): false alarms (total) | detected (of {seeds * len(CHANGES)}) | "
                  f"mean delay | mean delay, a miss = {WINDOW}.\n")
            print("| river setting | river FAs | det. | delay | charged | ours h | ours FAs "
                  "| det. | delay | charged | shorter delay at <= FAs "
                  "| shorter charged delay at <= FAs |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for label, (target, theirs) in river.items():
                h = matched(curve, int(target), key)
                if h is None:
                    print(f"| {label} | {fmt(theirs)} | none in the grid | | | | | n/a | n/a |")
                    continue
                mine = run_on("ours", partial(factory, h), test)
                print(f"| {label} | {fmt(theirs)} | {h:g} | {fmt(mine)} "
                      f"| {verdict(theirs, mine, 'delay')} | {verdict(theirs, mine, 'charged')} |")
        print(f"\n({time.perf_counter() - started:.0f} s)")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    run(parser.parse_args().seeds)
