"""The cost check of validation: a candidate may not cost much more per prediction.

Beside the latency check (wall time, which the machine's load moves), this one compares
what each model uses of the CPU: both score the same holdout batch, interleaved, under
:class:`~inference.cost_meter.CostMeter` (the calling thread's CPU clock, as serving
reads it), and the median CPU seconds per 1,000 predictions of each are compared. The
candidate fails when its figure is more than ``1 + tolerance`` times the champion's;
the check names both figures.

Examples
--------
>>> check = cost_check(champion_per_1k=0.12, candidate_per_1k=0.36, tolerance=1.0)
>>> check.passed, round(check.figure, 2), check.threshold
(False, 3.0, 2.0)
>>> check.detail
'CPU seconds per 1,000 predictions: candidate 0.3600, champion 0.1200 (3.00x, limit 2.00x)'
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import numpy as np

from inference.cost_meter import CostMeter, EnergyCounter, per_thousand
from retrain.validation import Check, ValidationReport

__all__ = ["COST_TOLERANCE", "cost_check", "cpu_per_thousand", "with_cost_check"]

#: a candidate may cost up to twice the champion's CPU per prediction
COST_TOLERANCE = 1.0


def cpu_per_thousand(champion: Callable[[np.ndarray], object],
                     candidate: Callable[[np.ndarray], object], batch: np.ndarray,
                     candidate_batch: np.ndarray | None = None, *, repeats: int = 21,
                     warmup: int = 3, meter: CostMeter | None = None) -> tuple[float, float]:
    """Median CPU seconds per 1,000 predictions of each model on ``batch``, interleaved
    (champion first on even rounds) after ``warmup`` untimed rounds.

    ``candidate_batch`` is the same rows in the candidate's columns, when they differ.
    """
    if repeats < 1 or warmup < 0 or len(batch) == 0:
        raise ValueError(f"need repeats >= 1, warmup >= 0 and rows, got {repeats}, "
                         f"{warmup}, {len(batch)} rows")
    meter = meter if meter is not None else CostMeter(energy=EnergyCounter.none("validation"))
    inputs = (batch, batch if candidate_batch is None else candidate_batch)
    models = (champion, candidate)
    for _ in range(warmup):
        champion(inputs[0])
        candidate(inputs[1])
    per_1k: dict[int, list[float]] = {0: [], 1: []}
    for i in range(repeats):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            with meter.measure(len(batch)) as used:
                models[which](inputs[which])
            per_1k[which].append(per_thousand(len(batch), used.cpu_s) or 0.0)
    return statistics.median(per_1k[0]), statistics.median(per_1k[1])


def cost_check(*, champion_per_1k: float, candidate_per_1k: float,
               tolerance: float = COST_TOLERANCE) -> Check:
    """The ``cost`` check: the candidate's CPU per prediction over the champion's."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"cost tolerance must be >= 0, got {tolerance!r}")
    ratio = candidate_per_1k / champion_per_1k if champion_per_1k > 0 else math.inf
    limit = 1.0 + tolerance
    return Check("cost", ratio, limit, ratio <= limit,
                 detail=f"CPU seconds per 1,000 predictions: candidate {candidate_per_1k:.4f}"
                        f", champion {champion_per_1k:.4f} ({ratio:.2f}x, limit {limit:.2f}x)")


def with_cost_check(report: ValidationReport, champion: Callable[[np.ndarray], object],
                    candidate: Callable[[np.ndarray], object], batch: np.ndarray,
                    candidate_batch: np.ndarray | None = None,
                    tolerance: float = COST_TOLERANCE) -> ValidationReport:
    """``report`` with the cost check of both models on ``batch`` added."""
    old, new = cpu_per_thousand(champion, candidate, batch, candidate_batch)
    check = cost_check(champion_per_1k=old, candidate_per_1k=new, tolerance=tolerance)
    return ValidationReport((*report.checks, check))
