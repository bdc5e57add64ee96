"""A small hyper-parameter search around the fine-tune: a few grid points, time-boxed.

Each trial is one :func:`~retrain.fine_tune.fine_tune` with the same seed and data and
one combination of the grid, written to ``out_dir/trial-<i>``; the best trial is the one
with the lowest validation loss (the earlier one on a tie). The search stops at the end
of the grid, after ``max_trials`` trials, or when ``max_seconds`` have passed: the
first trial always runs and none starts after the time is up.

Why a plain grid and not Optuna: with two to six trials of a warm-started fine-tune, a
model-based sampler (TPE) has nothing to learn from, its start-up trials are random
anyway, and the grid is reproducible with no extra dependency.

Examples
--------
>>> from retrain.trainer import TrainedModel
>>> def fake(champion_dir, examples, out_dir, **kw):
...     loss = abs(kw["learning_rate"] - 1e-3)  # pretend 1e-3 is best
...     return TrainedModel("m", kw["version"], out_dir / "model.pt", out_dir / "r.json",
...                         0.9, 10, 1, 0.0, validation_loss=loss)
>>> result = grid_search(Path("champ"), None, Path("out"), version="v2", train=fake,
...                      grid={"learning_rate": [3e-3, 1e-3, 3e-4]}, max_trials=3)
>>> result.best_params, len(result.trials), result.stopped
({'learning_rate': 0.001}, 3, 'grid exhausted')
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrain.trainer import TrainedModel

__all__ = ["DEFAULT_GRID", "SEARCHABLE", "SearchResult", "Trial", "grid_search"]

#: the fine-tune arguments a grid may vary
SEARCHABLE = ("learning_rate", "batch_size", "patience", "max_epochs")
#: four trials: two step sizes by two batch sizes
DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "learning_rate": (3e-3, 1e-3),
    "batch_size": (64, 256),
}


@dataclass(frozen=True)
class Trial:
    """One fine-tune of the search: its grid point, result and wall-clock seconds."""

    params: dict[str, Any]
    model: TrainedModel
    seconds: float


@dataclass(frozen=True)
class SearchResult:
    """The trials run, the best of them, and why the search stopped.

    Attributes
    ----------
    trials
        Every trial, in the order run.
    best
        The trial with the lowest validation loss.
    stopped
        ``"grid exhausted"``, ``"max_trials"`` or ``"time budget"``.
    """

    trials: tuple[Trial, ...]
    best: Trial
    stopped: str

    @property
    def best_params(self) -> dict[str, Any]:
        """The grid point of the best trial."""
        return self.best.params


def _grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    unknown = sorted(set(grid) - set(SEARCHABLE))
    if unknown:
        raise ValueError(f"grid keys {unknown} are not searchable; use some of {SEARCHABLE}")
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise ValueError(f"the grid needs at least one value for each key, got {dict(grid)}")
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def grid_search(
    champion_dir: Path,
    examples: Any,
    out_dir: Path,
    *,
    version: str,
    grid: Mapping[str, Sequence[Any]] = DEFAULT_GRID,
    max_trials: int = 4,
    max_seconds: float = 600.0,
    clock: Callable[[], float] = time.monotonic,
    train: Callable[..., TrainedModel] | None = None,
    **fine_tune_kwargs: Any,
) -> SearchResult:
    """Fine-tune the champion at each grid point, within the trial and time budgets.

    Parameters
    ----------
    champion_dir, examples, version
        As for :func:`~retrain.fine_tune.fine_tune`.
    out_dir
        Each trial writes to ``out_dir/trial-<i>``; the best's folder is the candidate.
    grid
        Values to try per fine-tune argument (keys from :data:`SEARCHABLE`), crossed.
    max_trials, max_seconds
        Budgets: trial count, and seconds after which no new trial starts.
    clock
        Monotonic seconds, injected for tests.
    train
        The fine-tune to run (default :func:`~retrain.fine_tune.fine_tune`).
    fine_tune_kwargs
        Passed to every trial (``seed``, ``device``, ``validation_fraction``...).
    """
    if max_trials < 1 or not (max_seconds > 0):
        raise ValueError(f"need max_trials >= 1 and max_seconds > 0, got {max_trials}, "
                         f"{max_seconds}")
    clashing = sorted(set(grid) & set(fine_tune_kwargs))
    if clashing:
        raise ValueError(f"{clashing} are both searched and fixed; drop them from one")
    if train is None:
        from retrain.fine_tune import fine_tune

        train = fine_tune
    points = _grid_points(grid)
    start = clock()
    trials: list[Trial] = []
    stopped = "grid exhausted"
    for i, params in enumerate(points):
        if len(trials) == max_trials:
            stopped = "max_trials"
            break
        if trials and clock() - start >= max_seconds:
            stopped = "time budget"
            break
        began = clock()
        model = train(champion_dir, examples, Path(out_dir) / f"trial-{i}", version=version,
                      **fine_tune_kwargs, **params)
        trials.append(Trial(params, model, clock() - began))
    best = min(trials, key=lambda t: (_loss(t), trials.index(t)))
    return SearchResult(tuple(trials), best, stopped)


def _loss(trial: Trial) -> float:
    loss = trial.model.validation_loss
    return loss if math.isfinite(loss) else math.inf
