"""The simulated experiments of ``bench/ab.py``, for both its interpreters (numpy only).

The project's benchmark and GrowthBook's peer (a venv with numpy < 2) regenerate the same
streams from the same seeds with this module, and compare a checksum to prove it.

Cells:

- ``null``: one unit per event, each assigned to an arm with probability 1/2 and converting
  with probability ``p0`` whatever the arm; a look after every event.
- ``lift``: the challenger converts at ``p0 (1 + lift)``; each look adds ``block`` units to
  each arm (binomial draws), ``looks`` looks in all.
- ``srm``: one unit per event, assigned to the challenger with probability ``share``; the
  counts are looked at every ``every`` units.

Each yields chunks of replicates as cumulative per-look arrays, shape (replicates, looks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

#: the burn-in every method gets: no decision before these units and conversions per arm
MIN_UNITS, MIN_CONVERSIONS = 100, 25


def experiment_chunks(cell: dict[str, Any], reps: int, chunk: int
                      ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(n_a, s_a, n_b, s_b) per look for ``reps`` replicates of a null or lift cell."""
    rng = np.random.default_rng(cell["seed"])
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        if cell["kind"] == "null":
            events = cell["events"]
            to_b = rng.random((r, events)) < 0.5
            converts = rng.random((r, events)) < cell["p0"]
            n_b = np.cumsum(to_b, axis=1, dtype=np.int32)
            s_b = np.cumsum(converts & to_b, axis=1, dtype=np.int32)
            n_a = np.arange(1, events + 1, dtype=np.int32) - n_b
            s_a = np.cumsum(converts, axis=1, dtype=np.int32) - s_b
        else:
            block, looks = cell["block"], cell["looks"]
            p_b = cell["p0"] * (1.0 + cell["lift"])
            s_a = np.cumsum(rng.binomial(block, cell["p0"], (r, looks)), axis=1, dtype=np.int32)
            s_b = np.cumsum(rng.binomial(block, p_b, (r, looks)), axis=1, dtype=np.int32)
            n_a = n_b = np.broadcast_to(block * np.arange(1, looks + 1, dtype=np.int32),
                                        (r, looks))
        yield n_a, s_a, n_b, s_b


def srm_chunks(cell: dict[str, Any], reps: int, chunk: int) -> Iterator[np.ndarray]:
    """The challenger's units after each look, for ``reps`` replicates of an SRM cell."""
    rng = np.random.default_rng(cell["seed"])
    every, looks = cell["every"], cell["looks"]
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        yield np.cumsum(rng.binomial(every, cell["share"], (r, looks)), axis=1, dtype=np.int64)


def burnt_in(n_a: np.ndarray, s_a: np.ndarray, n_b: np.ndarray, s_b: np.ndarray) -> np.ndarray:
    """Where every method may decide: 100 units and 25 conversions per arm."""
    return (n_a >= MIN_UNITS) & (n_b >= MIN_UNITS) & (s_a >= MIN_CONVERSIONS) & \
        (s_b >= MIN_CONVERSIONS)


def difference(n_a: np.ndarray, s_a: np.ndarray, n_b: np.ndarray, s_b: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """The difference of conversion rates and its variance, per look."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a, p_b = s_a / n_a, s_b / n_b
        return p_b - p_a, p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b


def first_decision(decides: np.ndarray, sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate: the first look that decides (-1 if none) and the sign it decides."""
    any_ = decides.any(axis=1)
    first = np.where(any_, decides.argmax(axis=1), -1)
    rows = np.arange(decides.shape[0])
    direction = np.where(any_, np.sign(sign[rows, np.maximum(first, 0)]), 0)
    return first, direction.astype(np.int8)


def checksum(arrays: tuple[np.ndarray, ...]) -> int:
    """A checksum of a chunk, to show two interpreters drew the same streams."""
    return int(sum(int(np.asarray(a, dtype=np.int64).sum() % 1_000_003) * (i + 1)
                   for i, a in enumerate(arrays)))
