"""Where the gradual streams' false alarms fall, and how noisy their mean delays are.

Re-runs the detectors of ``bench.drift`` on its gradual streams (same seeds, same
calibrated thresholds, same scoring) and splits each row's false alarms by position:
in the ``WIDTH`` values before a change's centre (the sigmoid's first half, where up to
half the values already come from the new regime), within ``2 * WIDTH`` after a centre
but past the 250-value window (late detections), or elsewhere (in-control). It also
prints how many of the changes were detected and a bootstrap standard error (over the
seeds) of the table's mean delay.

Run: ``python -m bench.drift_gradual --seeds 30``
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.drift import (
    BINARY,
    CHANGES,
    REAL,
    WIDTH,
    WINDOW,
    Factory,
    alarms_of,
    calibrated,
    stream,
)


def delays(alarms: np.ndarray) -> list[int]:
    """Delay of the first alarm in each change's window, for the changes detected."""
    out = []
    for c in CHANGES:
        inside = alarms[(alarms >= c) & (alarms < c + WINDOW)]
        if inside.size:
            out.append(int(inside[0]) - c)
    return out


def false_alarm_split(alarms: np.ndarray) -> tuple[int, int, int]:
    """False alarms before a centre, late after one, and elsewhere."""
    before = late = 0
    for c in CHANGES:
        before += int(((alarms >= c - WIDTH) & (alarms < c)).sum())
        late += int(((alarms >= c + WINDOW) & (alarms < c + 2 * WIDTH)).sum())
    in_window = sum(int(((alarms >= c) & (alarms < c + WINDOW)).sum()) for c in CHANGES)
    return before, late, alarms.size - in_window - before - late


def mean_delay(per_seed: list[list[int]]) -> float:
    """The table's mean delay: the mean over seeds of each seed's mean delay."""
    means = [float(np.mean(d)) for d in per_seed if d]
    return float(np.mean(means)) if means else float("nan")


def run(seeds: int) -> None:
    extra_real, extra_binary = calibrated()
    rng = np.random.default_rng(0)
    for kind in ("error-gradual", "mean-gradual"):
        detectors: dict[str, tuple[str, Factory]] = (
            {**BINARY, **extra_binary} if kind.startswith("error-") else {**REAL, **extra_real})
        values = [stream(kind, seed) for seed in range(seeds)]
        print(f"\n### {kind} ({seeds} seeds)\n")
        print(f"| detector | detected (of {seeds * len(CHANGES)}) | mean delay (bootstrap se) "
              "| false alarms: before a centre / late / elsewhere |")
        print("|---|---|---|---|")
        for name, (side, make) in detectors.items():
            per_seed, split = [], np.zeros(3, dtype=int)
            for v in values:
                alarms = np.asarray(alarms_of(side, make, v), dtype=int)
                per_seed.append(delays(alarms))
                split += false_alarm_split(alarms)
            boot = [mean_delay([per_seed[i] for i in rng.integers(0, seeds, seeds)])
                    for _ in range(2000)]
            print(f"| {name} | {sum(map(len, per_seed))} | {mean_delay(per_seed):.1f} "
                  f"({np.nanstd(boot):.1f}) | {split[0]} / {split[1]} / {split[2]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    run(parser.parse_args().seeds)
