"""A regression's retrain: examples of kind ``value`` reach a user's trainer as float
targets, the candidate it writes is validated by the paired t-test on absolute errors
(checked against scipy's ttest_rel), and a better one is published and made champion; an
equal one is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from inference.model_spec import ModelSpec
from inference.registry import ModelStore
from retrain.examples import LabelledExamples
from retrain.holdout_gate import PairedGate
from retrain.retrain_job import CHAMPION, RetrainJob
from retrain.trainer_contract import ExampleColumns, InProcessTrainer, load_trainer
from retrain.validation import ValidationPolicy

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own

WEIGHTS, BIAS = np.array([3.0, -0.5]), 10.0


def _publish_linear(folder: Path, weights: np.ndarray, bias: float) -> Path:
    folder.mkdir(parents=True)
    linear = torch.nn.Linear(2, 1)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(weights[None], dtype=torch.float32))
        linear.bias.fill_(bias)
    torch.jit.save(torch.jit.script(linear.eval()), str(folder / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "regression",
                         "inputs": {"numeric": [{"name": "size"}, {"name": "age"}]}}
                        ).save(folder)
    return folder


def _examples(n: int, shift: float, seed: int) -> LabelledExamples:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(5, 1, n), rng.normal(20, 5, n)])
    y = x @ WEIGHTS + BIAS + shift + rng.normal(0, 1, n)
    return LabelledExamples(np.arange(n, dtype=float), x, y, ("size", "age"), "value")


def test_value_targets_keep_their_kind_through_the_columns() -> None:
    ex = _examples(10, 0.0, 1)
    cols = ExampleColumns.of_labelled(ex)
    assert cols.target_kind == "value" and cols.target.dtype == np.float64
    back = cols.labelled(("size", "age"))
    assert back.kind == "value" and np.array_equal(back.labels, ex.labels)
    assert ex.take(np.array([3, 1])).kind == "value"


def test_a_user_trainer_fixes_a_biased_regression_and_the_paired_test_passes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_TEST_DIR", str(tmp_path))
    store = ModelStore(tmp_path / "models")
    store.publish("price", "v1", _publish_linear(tmp_path / "v1", WEIGHTS, BIAS))
    store.set_alias("price", CHAMPION, "v1")
    trainer = load_trainer("tests.integration.retrain_trainers:fits_a_linear_regression")
    job = RetrainJob(store, PairedGate(ValidationPolicy(margin=0.1, alpha=0.01)),
                     trainer=InProcessTrainer(trainer), holdout_fraction=0.3)
    examples = _examples(2000, 2.5, 2)  # the world moved up by 2.5: the champion is biased
    result = job.run("rt-reg", "price", examples, data_range=(0.0, 1.0))
    given = json.loads((tmp_path / "given.json").read_text())
    assert given["target_kind"] == "value" and given["holdout"] == 600
    assert result.passed and result.alias == CHAMPION
    assert store.aliases("price")[CHAMPION] == result.version == "v2"
    # the paired test, against scipy on the same holdout
    _, holdout = examples.time_holdout(0.3)
    old = store.load_predictor("price", "v1", device="cpu").predict_batch(holdout.features)
    new = store.load_predictor("price", "v2", device="cpu").predict_batch(holdout.features)
    assert old.values is not None and new.values is not None
    abs_old, abs_new = np.abs(old.values - holdout.labels), np.abs(new.values - holdout.labels)
    (mae,) = [c for c in result.record["checks"] if c[0] == "mae"]
    expected = stats.ttest_rel(abs_old, abs_new, alternative="greater").pvalue
    assert f"mae p {expected:.3g}" in result.record["reason"]
    assert result.record["metric"] == "mae"
    assert result.record["champion_mae"] == pytest.approx(abs_old.mean(), rel=1e-6)
    assert result.record["candidate_mae"] == pytest.approx(abs_new.mean(), rel=1e-6)
    assert mae[1] == pytest.approx(1 - abs_new.mean() / abs_old.mean(), rel=1e-6)
    assert result.record["candidate_mae"] < 0.5 * result.record["champion_mae"]


def test_an_equal_regression_candidate_is_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    store.publish("price", "v1", _publish_linear(tmp_path / "v1", WEIGHTS, BIAS))

    def same(job):  # the champion again: no lower error
        _publish_linear(job.out_dir / "x", WEIGHTS, BIAS)
        for f in (job.out_dir / "x").iterdir():
            os.replace(f, job.out_dir / f.name)
        (job.out_dir / "x").rmdir()

    job = RetrainJob(store, PairedGate(ValidationPolicy(margin=0.1)),
                     trainer=InProcessTrainer(same))
    result = job.run("rt-eq", "price", _examples(1000, 0.0, 3), data_range=(0.0, 1.0))
    assert not result.passed and result.alias is None
    assert "rejected: holdout mae" in result.record["reason"]
    assert "failed: mae" in result.record["reason"]
