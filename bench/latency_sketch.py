"""QuantileSketch beside the ``ddsketch`` package: update cost, memory and accuracy, one run.

Run: ``python bench/latency_sketch.py [--n 1000000] [--seed 7]``. Both sketches get the
same seeded log-normal latencies (median 50 ms, sigma 0.6) at relative accuracy 0.01.
Update cost is wall time per value: ``update_many`` on batches of 1,000 (how the monitor
loop feeds it), our per-value ``update``, and ddsketch's ``add`` (it has no batch API).
Memory is what the filled sketch retains (tracemalloc, in a second, untimed fill) and its
bucket count; accuracy is
the relative error against numpy's exact order statistic (``method="lower"``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
from ddsketch import DDSketch

from detectors.quantile_sketch import QuantileSketch

QUANTILES = (0.5, 0.95, 0.99, 0.999)
ACCURACY = 0.01


def _timed(fill: Callable[[], object], n: int) -> tuple[object, float, int]:
    """The filled sketch, ns per value (untraced run), and the bytes it retains (traced run)."""
    t0 = time.perf_counter()
    sketch = fill()
    elapsed = time.perf_counter() - t0
    del sketch
    tracemalloc.start()
    sketch = fill()
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return sketch, elapsed / n * 1e9, retained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = np.random.default_rng(args.seed).lognormal(np.log(0.05), 0.6, args.n)
    values = data.tolist()
    batches = np.array_split(data, max(1, args.n // 1000))
    exact = {q: float(np.quantile(data, q, method="lower")) for q in QUANTILES}

    def ours_batched() -> QuantileSketch:
        s = QuantileSketch(ACCURACY)
        for b in batches:
            s.update_many(b)
        return s

    def ours_looped() -> QuantileSketch:
        s = QuantileSketch(ACCURACY)
        for v in values:
            s.update(v)
        return s

    def theirs() -> DDSketch:
        s = DDSketch(relative_accuracy=ACCURACY)
        for v in values:
            s.add(v)
        return s

    rows = []
    for name, fill in (("QuantileSketch.update_many (batches of 1000)", ours_batched),
                       ("QuantileSketch.update (per value)", ours_looped),
                       ("ddsketch.DDSketch.add (per value)", theirs)):
        sketch, ns, retained = _timed(fill, args.n)
        if isinstance(sketch, QuantileSketch):
            got = {q: sketch.quantile(q) for q in QUANTILES}
            bins = sketch.bin_count
            wire = len(json.dumps(sketch.snapshot()))
        else:
            assert isinstance(sketch, DDSketch)
            answers = {q: sketch.get_quantile_value(q) for q in QUANTILES}
            got = {q: float("nan") if v is None else float(v) for q, v in answers.items()}
            bins = len(sketch._store.bins) + len(sketch._negative_store.bins)
            wire = -1
        err = max(abs(got[q] - exact[q]) / exact[q] for q in QUANTILES)
        rows.append((name, ns, retained, bins, wire, err))

    print(f"n={args.n} seed={args.seed} relative_accuracy={ACCURACY} "
          f"python={platform.python_version()} numpy={np.__version__}")
    print("| sketch | ns per value | retained bytes | buckets | to_dict JSON bytes "
          "| max relative error p50/p95/p99/p99.9 |")
    print("|---|---|---|---|---|---|")
    for name, ns, retained, bins, wire, err in rows:
        print(f"| {name} | {ns:.0f} | {retained:,} | {bins} | "
              f"{wire if wire >= 0 else 'n/a'} | {err:.5f} |")


if __name__ == "__main__":
    main()
