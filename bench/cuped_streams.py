"""The simulated units of ``bench/cuped.py``, for both its interpreters (numpy only).

Each unit has a pre-experiment value ``x ~ N(10, 3^2)`` of the metric and an outcome
``y = 10 + lift + rho (x - 10) + sqrt(1 - rho^2) 3 e`` (``e`` standard normal; ``lift`` only
in the challenger's arm), so ``corr(x, y) = rho``. Each look adds ``block`` units to each
arm; a chunk of replicates is returned as cumulative per-look sums, shape (replicates,
looks): for each arm ``n, sum y, sum x, sum y^2, sum x^2, sum xy``. The project's
benchmark and GrowthBook's peer regenerate the same units from the same seed and compare a
checksum to prove it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

MEAN, SD = 10.0, 3.0
#: no decision before this many units per arm, in every method
MIN_UNITS = 100
SUMS = ("n", "y", "x", "yy", "xx", "xy")


def cuped_chunks(cell: dict[str, Any], reps: int, chunk: int
                 ) -> Iterator[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """(champion sums, challenger sums) per look for ``reps`` replicates of a cell."""
    rng = np.random.default_rng(cell["seed"])
    block, looks, rho = cell["block"], cell["looks"], cell["rho"]
    n = np.broadcast_to(block * np.arange(1, looks + 1, dtype=np.float64), (1, looks))
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        arms = []
        for lift in (0.0, cell["lift"]):
            x = rng.normal(MEAN, SD, (r, looks, block))
            y = MEAN + lift + rho * (x - MEAN) + \
                np.sqrt(1.0 - rho * rho) * SD * rng.standard_normal((r, looks, block))
            sums = {"n": np.broadcast_to(n, (r, looks))}
            for name, v in (("y", y), ("x", x), ("yy", y * y), ("xx", x * x), ("xy", x * y)):
                sums[name] = np.cumsum(v.sum(axis=2), axis=1)
            arms.append(sums)
        yield arms[0], arms[1]


def checksum(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """A checksum of a chunk, to show two interpreters drew the same units."""
    return float(sum(arm[k][:, -1].sum() for arm in (a, b) for k in SUMS))
