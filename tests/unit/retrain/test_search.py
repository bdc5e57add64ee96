"""The grid search: budgets, the choice of the best trial, and a real fine-tune per trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retrain.search import grid_search
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from retrain.trainer import TrainedModel, train_classifier
from retrain.training_set import TrainingSet


class FakeTrainer:
    """Records its calls; its loss is a fixed table of the learning rate; each call takes
    ``step`` seconds of the fake clock."""

    def __init__(self, losses: dict[float, float], step: float = 1.0) -> None:
        self.losses, self.step, self.now = losses, step, 0.0
        self.calls: list[dict[str, Any]] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, champion_dir: Path, examples: Any, out_dir: Path,
                 **kw: Any) -> TrainedModel:
        self.calls.append({"out_dir": out_dir, **kw})
        self.now += self.step
        return TrainedModel("m", kw["version"], out_dir / "model.pt", out_dir / "ref.json",
                            0.9, 10, 1, self.step, validation_loss=self.losses[kw["learning_rate"]])


GRID: dict[str, list[Any]] = {"learning_rate": [3e-3, 1e-3, 3e-4], "batch_size": [64, 256]}
LOSSES = {3e-3: 0.5, 1e-3: 0.3, 3e-4: 0.4}


def test_full_grid_picks_the_lowest_validation_loss_first_on_ties(tmp_path: Path) -> None:
    fake = FakeTrainer(LOSSES)
    result = grid_search(Path("c"), None, tmp_path, version="v2", grid=GRID, max_trials=10,
                         train=fake, clock=fake.clock, seed=7)
    assert result.stopped == "grid exhausted" and len(result.trials) == 6
    assert result.best_params == {"learning_rate": 1e-3, "batch_size": 64}
    assert [c["out_dir"].name for c in fake.calls] == [f"trial-{i}" for i in range(6)]
    assert {c["seed"] for c in fake.calls} == {7} and all(t.seconds == 1.0 for t in result.trials)


def test_trial_budget_stops_the_search(tmp_path: Path) -> None:
    fake = FakeTrainer(LOSSES)
    result = grid_search(Path("c"), None, tmp_path, version="v2", grid=GRID, max_trials=2,
                         train=fake, clock=fake.clock)
    assert (result.stopped, len(fake.calls)) == ("max_trials", 2)
    assert result.best_params == {"learning_rate": 3e-3, "batch_size": 64}  # both 0.5: first


def test_time_budget_starts_no_trial_after_it_and_always_runs_one(tmp_path: Path) -> None:
    fake = FakeTrainer(LOSSES, step=40.0)
    result = grid_search(Path("c"), None, tmp_path, version="v2", grid=GRID, max_trials=10,
                         max_seconds=100.0, train=fake, clock=fake.clock)
    assert (result.stopped, len(result.trials)) == ("time budget", 3)  # started at 0, 40, 80
    one = FakeTrainer(LOSSES, step=500.0)
    alone = grid_search(Path("c"), None, tmp_path, version="v2", grid=GRID,
                        max_seconds=100.0, train=one, clock=one.clock)
    assert (alone.stopped, len(alone.trials)) == ("time budget", 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"grid": {"dropout": [0.1]}}, "not searchable"),
    ({"grid": {"learning_rate": []}}, "at least one value"),
    ({"max_trials": 0}, "max_trials"),
    ({"learning_rate": 1e-3}, "both searched and fixed"),
])
def test_bad_search_arguments_raise(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        grid_search(Path("c"), None, tmp_path, version="v2", **{"grid": GRID, **kwargs})


def test_real_trials_fine_tune_the_champion(tmp_path: Path) -> None:
    champion = train_classifier(tmp_path / "champion", n=1000, epochs=2, seed=2)
    batch = FeatureGenerator(3).sample(600, drift=Drift("f0", shift=2.0))
    rows = TrainingSet(batch.features, batch.labels, FEATURES)
    result = grid_search(champion.model_path.parent, rows, tmp_path / "search", version="v2",
                         grid={"learning_rate": [1e-2, 1e-4]}, max_trials=2, seed=0,
                         max_epochs=2, patience=1, device="cpu")
    losses = [t.model.validation_loss for t in result.trials]
    assert result.best.model.validation_loss == min(losses)
    assert result.best.model.model_path.parent.name in {"trial-0", "trial-1"}
    assert result.best.model.model_path.is_file() and result.best.model.parent == "v1"
