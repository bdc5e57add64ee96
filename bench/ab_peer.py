"""GrowthBook's engine (``gbstats``) on the streams of ``bench/ab.py``; run in its own venv.

``gbstats`` 0.8.0 pins numpy < 2 and pandas < 2, so ``bench/ab.py`` runs this file with the
peer interpreter: ``python bench/ab_peer.py SPEC.json`` prints JSON. Each look is judged by
``SequentialTwoSidedTTest`` (absolute difference, alpha 0.05, tuning 5,000: GrowthBook's
defaults but the difference type) fed whole arrays of looks at once: its statistics are
:class:`ArrayProportion`, a duck-typed ``ProportionStatistic`` over arrays, and the decision
is GrowthBook's: its confidence interval excludes zero. On the first chunk the array path is
checked against the scalar one (``ProportionStatistic``, one look at a time), and
``check_srm`` (GrowthBook's chi-square SRM check) is sampled for comparison.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest
from gbstats.gbstats import check_srm
from gbstats.models.statistics import ProportionStatistic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_streams import burnt_in, checksum, experiment_chunks, first_decision

CONFIG = SequentialConfig(difference_type="absolute", alpha=0.05,
                          sequential_tuning_parameter=5000)


class _Truthy(np.ndarray):
    """An array that is true as a whole: gbstats asks ``if not mean_a`` (relative only)."""

    def __bool__(self) -> bool:
        return True


class ArrayProportion:
    """``ProportionStatistic`` over arrays of looks (n > 0 where judged)."""

    def __init__(self, n: np.ndarray, s: np.ndarray) -> None:
        self.n, self.sum = n.astype(float), s.astype(float)

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sum / self.n

    @property
    def unadjusted_mean(self) -> np.ndarray:
        return np.asarray(self.mean).view(_Truthy)

    @property
    def variance(self) -> np.ndarray:
        m = self.mean
        return m * (1 - m)


def _interval(n_a: Any, s_a: Any, n_b: Any, s_b: Any) -> tuple[Any, Any]:
    test = SequentialTwoSidedTTest(ArrayProportion(n_a, s_a), ArrayProportion(n_b, s_b), CONFIG)
    lo, hi = test.confidence_interval
    return lo, hi


def _scalar_check(n_a: np.ndarray, s_a: np.ndarray, n_b: np.ndarray, s_b: np.ndarray,
                  lo: np.ndarray, hi: np.ndarray) -> float:
    """The largest difference between the array path and gbstats' own scalar path."""
    rng = np.random.default_rng(0)
    worst = 0.0
    ok = np.argwhere(burnt_in(n_a, s_a, n_b, s_b))
    for r, c in ok[rng.choice(len(ok), size=min(300, len(ok)), replace=False)]:
        test = SequentialTwoSidedTTest(ProportionStatistic(n=int(n_a[r, c]), sum=int(s_a[r, c])),
                                       ProportionStatistic(n=int(n_b[r, c]), sum=int(s_b[r, c])),
                                       CONFIG)
        s_lo, s_hi = test.confidence_interval
        worst = max(worst, abs(s_lo - lo[r, c]), abs(s_hi - hi[r, c]))
    return worst


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    firsts, signs, sums, worst = [], [], [], 0.0
    for i, (n_a, s_a, n_b, s_b) in enumerate(experiment_chunks(cell, cell["reps"],
                                                                cell["chunk"])):
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = _interval(n_a, s_a, n_b, s_b)
        decides = burnt_in(n_a, s_a, n_b, s_b) & ((lo > 0) | (hi < 0))
        first, sign = first_decision(decides, lo + hi)
        firsts.append(first)
        signs.append(sign)
        if i == 0:
            sums.append(checksum((n_a, s_a, n_b, s_b)))
            worst = _scalar_check(n_a, s_a, n_b, s_b, lo, hi)
    return {"first": np.concatenate(firsts).tolist(), "sign": np.concatenate(signs).tolist(),
            "checksum": sums[0], "scalar_max_abs_diff": worst}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    out: dict[str, Any] = {"cells": {name: run_cell(cell) for name, cell in spec["cells"].items()}}
    counts = spec.get("srm_counts", [])
    out["check_srm"] = [float(check_srm([n - b, b], [0.5, 0.5])) for b, n in counts]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
