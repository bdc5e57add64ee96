"""GrowthBook's CUPED (``gbstats`` 0.8.0) on the units of ``bench/cuped.py``; its own venv.

``python bench/cuped_peer.py SPEC.json`` prints JSON. Each look is judged by
``SequentialTwoSidedTTest`` (absolute difference, alpha 0.05, tuning 5,000) on whole arrays
of looks: :class:`ArrayMean` is a duck-typed ``SampleMeanStatistic`` and
:class:`ArrayAdjusted` a duck-typed ``RegressionAdjustedStatistic`` whose ``theta`` is
``compute_theta``'s formula over arrays. On the first chunk both are checked against
gbstats' own scalar classes and ``compute_theta``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest
from gbstats.models.statistics import (
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_peer import ArrayProportion
from ab_streams import first_decision
from cuped_streams import MIN_UNITS, checksum, cuped_chunks

CONFIG = SequentialConfig(difference_type="absolute", alpha=0.05,
                          sequential_tuning_parameter=5000)


class ArrayMean(ArrayProportion):
    """``SampleMeanStatistic`` over arrays of looks (the proportion's mean, its own variance)."""

    def __init__(self, n: np.ndarray, total: np.ndarray, total_sq: np.ndarray) -> None:
        super().__init__(n, total)
        self.sum_squares = total_sq

    @property
    def variance(self) -> np.ndarray:
        return (self.sum_squares - self.sum ** 2 / self.n) / (self.n - 1)


class ArrayAdjusted:
    """``RegressionAdjustedStatistic`` over arrays of looks."""

    def __init__(self, s: dict[str, np.ndarray], theta: np.ndarray) -> None:
        self.n, self.theta = s["n"], theta
        self.post, self.pre = ArrayMean(s["n"], s["y"], s["yy"]), ArrayMean(s["n"], s["x"],
                                                                           s["xx"])
        self.cross = s["xy"]

    @property
    def mean(self) -> np.ndarray:
        return self.post.mean - self.theta * self.pre.mean

    @property
    def unadjusted_mean(self) -> np.ndarray:
        return self.post.unadjusted_mean

    @property
    def variance(self) -> np.ndarray:
        cov = (self.cross - self.post.sum * self.pre.sum / self.n) / (self.n - 1)
        return self.post.variance + self.theta ** 2 * self.pre.variance - 2 * self.theta * cov


def array_theta(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> np.ndarray:
    """``compute_theta`` over arrays: the joint covariance over the joint pre variance."""
    n = a["n"] + b["n"]
    sx, sy = a["x"] + b["x"], a["y"] + b["y"]
    cov = (a["xy"] + b["xy"] - sx * sy / n) / (n - 1)
    return cov / ((a["xx"] + b["xx"] - sx * sx / n) / (n - 1))


def _statistics(a: dict[str, np.ndarray], b: dict[str, np.ndarray], cuped: bool) -> Any:
    if cuped:
        theta = array_theta(a, b)
        return ArrayAdjusted(a, theta), ArrayAdjusted(b, theta)
    return ArrayMean(a["n"], a["y"], a["yy"]), ArrayMean(b["n"], b["y"], b["yy"])


def _scalar(s: dict[str, np.ndarray], r: int, c: int) -> RegressionAdjustedStatistic:
    n = int(s["n"][r, c])
    return RegressionAdjustedStatistic(
        n=n, post_statistic=SampleMeanStatistic(n=n, sum=s["y"][r, c], sum_squares=s["yy"][r, c]),
        pre_statistic=SampleMeanStatistic(n=n, sum=s["x"][r, c], sum_squares=s["xx"][r, c]),
        post_pre_sum_of_products=s["xy"][r, c], theta=0.0)


def _scalar_check(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
                  intervals: dict[bool, tuple[np.ndarray, np.ndarray]]) -> float:
    rng = np.random.default_rng(0)
    worst = 0.0
    rows, cols = a["n"].shape
    for r, c in zip(rng.integers(0, rows, 200), rng.integers(0, cols, 200), strict=True):
        sa, sb = _scalar(a, r, c), _scalar(b, r, c)
        theta = compute_theta(sa, sb)
        sa.theta = sb.theta = theta
        for cuped, (x, y) in ((True, (sa, sb)), (False, (sa.post_statistic, sb.post_statistic))):
            lo, hi = SequentialTwoSidedTTest(x, y, CONFIG).confidence_interval
            worst = max(worst, abs(lo - intervals[cuped][0][r, c]),
                        abs(hi - intervals[cuped][1][r, c]))
    return worst


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    firsts: dict[str, list[Any]] = {"gbstats": [], "gbstats CUPED": []}
    total, worst = 0.0, 0.0
    for i, (a, b) in enumerate(cuped_chunks(cell, cell["reps"], cell["chunk"])):
        ok = (a["n"] >= MIN_UNITS) & (b["n"] >= MIN_UNITS)
        intervals = {}
        for cuped, name in ((False, "gbstats"), (True, "gbstats CUPED")):
            lo, hi = SequentialTwoSidedTTest(*_statistics(a, b, cuped), CONFIG).confidence_interval
            intervals[cuped] = (lo, hi)
            firsts[name].append(first_decision(ok & ((lo > 0) | (hi < 0)), lo + hi))
        if i == 0:
            total, worst = checksum(a, b), _scalar_check(a, b, intervals)
    methods = {k: (np.concatenate([f for f, _ in v]).tolist(),
                   np.concatenate([s for _, s in v]).tolist()) for k, v in firsts.items()}
    return {"methods": methods, "checksum": total, "scalar_max_abs_diff": worst}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps({"cells": {name: run_cell(cell) for name, cell in spec["cells"].items()}}))


if __name__ == "__main__":
    main()
