"""The started-experiment lookup reads the registry at most every ``ttl_s`` seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.registry import ModelStore
from inference.serving_records import EXPERIMENT_FILE
from streams.experiments.spec import ExperimentSpec, to_plain
from streams.experiments.started import STARTED_TTL_S, StartedExperiments

SPEC = ExperimentSpec("churn-v2", "churn", "A", "B", 0.2)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_started_experiment_is_seen_once_its_read_is_older_than_the_ttl(
        tmp_path: Path) -> None:
    store, clock = ModelStore(tmp_path), _Clock()
    started = StartedExperiments(store, clock=clock)
    assert started.ttl_s == STARTED_TTL_S
    assert started("churn") is None
    store.start_experiment("churn", to_plain(SPEC), {"A": 0.8, "B": 0.2})
    clock.now += STARTED_TTL_S  # not older than the ttl yet
    assert started("churn") is None
    clock.now += 0.001
    assert started("churn") == SPEC
    assert started("fraud") is None  # each model read on its own


def test_an_unreadable_experiment_is_none_and_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = ModelStore(tmp_path)
    (tmp_path / "churn").mkdir()
    (tmp_path / "churn" / EXPERIMENT_FILE).write_text("[1, 2]")
    assert StartedExperiments(store)("churn") is None
    assert "experiment of churn unreadable in the registry" in caplog.text
    (tmp_path / "churn" / EXPERIMENT_FILE).write_text('{"name": "churn-v2"}')  # no arms
    assert StartedExperiments(store)("churn") is None
