"""The trainer contract: what a trainer gets, what it must write, and each way it fails
(raises, runs past its deadline, writes no servable version) without touching the champion."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from inference.registry import ModelStore
from retrain.holdout_gate import HoldoutGate
from retrain.retrain_job import CHAMPION, RetrainJob
from retrain.synthetic import FEATURES
from retrain.trainer import train_classifier
from retrain.trainer_contract import (
    ExampleColumns,
    InProcessTrainer,
    TrainerInput,
    TrainingFailed,
    candidate_spec,
    load_trainer,
)
from retrain.trainer_process import TrainerProcess
from streams.errors import ConfigError
from streams.retraining.runner import trainer_of
from streams.settings import RetrainSettings, load
from tests.unit.retrain.test_retrain_job import _examples

TRAINERS = "tests.integration.retrain_trainers"


@pytest.fixture(scope="module")
def champion_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("champion")
    train_classifier(out, n=3000, seed=0, epochs=3)
    return out


def _job(champion_dir: Path, out: Path, deadline_s: float = 60.0) -> TrainerInput:
    rows = ExampleColumns.of_labelled(_examples(400, 1))
    out.mkdir(exist_ok=True)
    return TrainerInput(champion_dir, rows, np.arange(len(rows)) >= 300, 7, "cpu",
                        time.time() + deadline_s, out)


def test_columns_round_trip_the_examples_and_refuse_misaligned_ones() -> None:
    ex = _examples(50, 2)
    cols = ExampleColumns.of_labelled(ex)
    back = cols.labelled(ex.names)
    np.testing.assert_array_equal(back.features, ex.features)
    np.testing.assert_array_equal(back.labels, ex.labels)
    mask = np.arange(50) >= 40
    assert cols.take(mask).ts.tolist() == ex.ts[40:].tolist()
    with pytest.raises(ValueError, match="misaligned"):
        ExampleColumns(np.zeros(3), {"a": np.zeros(2)}, np.zeros(3))
    with pytest.raises(ValueError, match="misaligned"):
        ExampleColumns(np.zeros(2), {}, np.zeros(2), text=["one"])


def test_a_trainer_reference_that_does_not_resolve_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"INFERWATCH_RETRAIN_TRAINER='nope_pkg\.x:train': "
                                         r"cannot import 'nope_pkg\.x'"):
        load_trainer("nope_pkg.x:train")
    with pytest.raises(ValueError, match="has no function 'absent'"):
        load_trainer(f"{TRAINERS}:absent")
    assert load_trainer(f"{TRAINERS}:raises").__name__ == "raises"


def test_the_worker_refuses_a_bad_trainer_setting_at_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_RETRAIN_TRAINER", "not an entry point")
    with pytest.raises(ConfigError, match=r"INFERWATCH_RETRAIN_TRAINER: .*package\.module:"
                                          r"function"):
        load(RetrainSettings)
    monkeypatch.delenv("INFERWATCH_RETRAIN_TRAINER")
    with pytest.raises(ConfigError, match=r"INFERWATCH_RETRAIN_TRAINER='nope_pkg\.x:train'"):
        trainer_of(RetrainSettings(trainer="nope_pkg.x:train"))
    assert isinstance(trainer_of(RetrainSettings(trainer=f"{TRAINERS}:raises")),
                      TrainerProcess)
    assert isinstance(trainer_of(RetrainSettings()), InProcessTrainer)  # the built-in


def test_a_folder_is_a_candidate_with_a_valid_spec_and_its_artifact_or_a_legacy_model_pt(
        tmp_path: Path, champion_dir: Path) -> None:
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "model.pt").write_bytes((champion_dir / "model.pt").read_bytes())
    assert candidate_spec(legacy) is None  # the project's MLP, model.pt alone
    with pytest.raises(TrainingFailed, match=r"publish checks: .*model\.json is missing"):
        candidate_spec(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"kind": "onnx", "task": "binary"}))
    with pytest.raises(TrainingFailed, match="kind must be one of"):
        candidate_spec(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps(
        {"kind": "torchscript", "task": "regression", "inputs": {"numeric": [{"name": "x"}]}}))
    with pytest.raises(TrainingFailed, match=r"artifact 'model\.ts', which the trainer did not"):
        candidate_spec(tmp_path)
    (tmp_path / "model.ts").write_bytes(b"weights")
    spec = candidate_spec(tmp_path)
    assert spec is not None and (spec.kind, spec.task) == ("torchscript", "regression")


def test_a_trainer_in_its_own_process_that_raises_gives_its_error(
        tmp_path: Path, champion_dir: Path) -> None:
    with pytest.raises(TrainingFailed, match=r"raises raised RuntimeError: the user's "
                                             r"trainer broke on 400 examples"):
        TrainerProcess(f"{TRAINERS}:raises").run(_job(champion_dir, tmp_path / "out"))


def test_a_hung_trainer_is_killed_at_its_deadline_with_everything_it_started(
        tmp_path: Path, champion_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_TEST_DIR", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(TrainingFailed, match=r"ran past its deadline \(4 s\) and was killed"):
        TrainerProcess(f"{TRAINERS}:hangs", grace_s=1.0).run(
            _job(champion_dir, tmp_path / "out", deadline_s=4.0))
    took = time.monotonic() - start
    assert 4.0 <= took < 4.0 + 1.0 + 3.0  # the deadline, the grace, and slack for the kill
    pid = int((tmp_path / "hung.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, not orphaned


def test_the_built_in_fine_tune_runs_through_the_contract_in_its_own_process(
        tmp_path: Path, champion_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_TEST_DIR", str(tmp_path))
    job = _job(champion_dir, tmp_path / "out")
    trained = TrainerProcess(f"{TRAINERS}:fine_tunes").run(job)
    given = json.loads((tmp_path / "given.json").read_text())
    assert (given["rows"], given["holdout"], given["seed"], given["device"]) == (
        400, 100, 7, "cpu")
    assert given["numeric"] == sorted(FEATURES) and given["target_kind"] == "label"
    assert 0 < given["to_deadline_s"] <= 60
    assert trained is not None and trained.n_train == 300 - 60  # its own 20% for stopping
    spec = candidate_spec(job.out_dir)  # the built-in writes its spec beside model.pt
    assert spec is not None and (spec.kind, spec.feature_names, spec.classes) == (
        "mlp", FEATURES, ("0", "1"))


@pytest.mark.parametrize(("trainer", "reason"), [
    ("raises", "raised RuntimeError: the user's trainer broke"),
    ("writes_nothing", r"fails the publish checks: .*model\.json is missing"),
    ("writes_a_bad_spec", "fails the publish checks: .*kind must be one of"),
    ("writes_a_nan_model", "fails the publish checks: .*NaN or infinite"),
])
def test_a_failed_trainer_publishes_nothing_and_moves_no_alias(
        tmp_path: Path, champion_dir: Path, trainer: str, reason: str) -> None:
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", champion_dir)
    store.set_alias("churn", CHAMPION, "v1")
    job = RetrainJob(store, HoldoutGate(0.0), trainer=InProcessTrainer(
        load_trainer(f"{TRAINERS}:{trainer}")))
    with pytest.raises(TrainingFailed, match=reason):
        job.run("rt-1", "churn", _examples(400, 3), data_range=(0.0, 1.0))
    assert store.versions("churn") == ["v1"] and store.aliases("churn") == {CHAMPION: "v1"}
    assert len(store.alias_history("churn")) == 1
