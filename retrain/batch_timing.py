"""Time two models on the same batch, interleaved, for the latency check of validation.

Examples
--------
>>> champion_s, candidate_s = time_batches(lambda b: b.sum(), lambda b: b.sum(),
...                                        np.ones(8), repeats=3, warmup=1)
>>> len(champion_s), len(candidate_s)
(3, 3)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["time_batches"]


def time_batches(
    champion: Callable[[np.ndarray], object],
    candidate: Callable[[np.ndarray], object],
    batch: np.ndarray,
    *,
    repeats: int = 21,
    warmup: int = 3,
    timer: Callable[[], float] = time.perf_counter,
) -> tuple[list[float], list[float]]:
    """Seconds per call of each model on ``batch``, ``repeats`` times, interleaved.

    The two alternate (champion first on even rounds, candidate on odd ones) so a change
    in the machine's load falls on both; ``warmup`` untimed rounds go first.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for _ in range(warmup):
        champion(batch)
        candidate(batch)
    timed: dict[int, list[float]] = {0: [], 1: []}
    models = (champion, candidate)
    for i in range(repeats):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            start = timer()
            models[which](batch)
            timed[which].append(timer() - start)
    return timed[0], timed[1]
