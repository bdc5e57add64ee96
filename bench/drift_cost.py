"""Cost per update per feature: ours (batched) beside river (per event), same alarms.

Run: ``python -m bench.drift_cost``
"""

from __future__ import annotations

import pickle
import time
from typing import Any

import numpy as np
from river import drift
from river.drift import binary

from detectors.change import ADWIN, DDM, EDDM, KSWIN, PageHinkley

PAIRS: list[tuple[str, Any, Any, str, int]] = [
    ("ADWIN", ADWIN, drift.ADWIN, "real", 200_000),
    ("PageHinkley", PageHinkley, drift.PageHinkley, "real", 200_000),
    ("DDM", DDM, binary.DDM, "binary", 200_000),
    ("EDDM", EDDM, binary.EDDM, "binary", 200_000),
    ("KSWIN", KSWIN, drift.KSWIN, "real", 5_000),
]


def values(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    level = np.repeat(rng.normal(0, 1.0, 4), n // 4)
    if kind == "binary":
        return (rng.random(n) < 0.1 + 0.05 * np.abs(level)).astype(float)
    return rng.normal(level, 1.0)


def best_of(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    print("| detector | values | ours batched ns/value | river per-event ns/value | speed-up "
          "| same alarms | alarms | ours state (pickled) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, ours, theirs, kind, n in PAIRS:
        x = values(kind, n)
        kw: dict[str, Any] = {"seed": 1} if name == "KSWIN" else {}

        def loop(x: np.ndarray = x, kw: dict[str, Any] = kw, theirs: Any = theirs) -> list[int]:
            det, hits = theirs(**kw), []
            for i, v in enumerate(x.tolist()):
                det.update(v)
                if det.drift_detected:
                    hits.append(i)
            return hits

        def batched(x: np.ndarray = x, kw: dict[str, Any] = kw, ours: Any = ours) -> list[int]:
            return ours(**kw).update_many(x).tolist()

        t_ours, det_alarms = best_of(batched)
        t_river, river_hits = best_of(loop, repeat=1 if name == "KSWIN" else 3)
        det = ours(**kw)
        det.update_many(x)
        state = len(pickle.dumps(det.snapshot()))
        print(f"| {name} | {n:,} | {t_ours / n * 1e9:.0f} | {t_river / n * 1e9:.0f} | "
              f"{t_river / t_ours:.1f}x | {det_alarms == river_hits} | {len(river_hits)} | "
              f"{state / 1024:.1f} KB |")


if __name__ == "__main__":
    main()
