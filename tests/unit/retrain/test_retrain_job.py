"""The retrain job: a warm-started candidate, validated on the recent holdout, once per id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.registry import ModelStore
from retrain.candidate import TrainedCandidate, warm_start
from retrain.examples import LabelledExamples
from retrain.holdout_gate import HoldoutGate, accuracy
from retrain.retrain_job import CHALLENGER, CHAMPION, RetrainJob
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from retrain.trainer import train_classifier

DRIFT = Drift("f7", 0.0, scale=3.0)


def _examples(n: int, seed: int, drift: Drift | None = DRIFT) -> LabelledExamples:
    batch = FeatureGenerator(seed).sample(n, drift=drift)
    return LabelledExamples(np.arange(float(n)), batch.features, batch.labels, FEATURES)


@pytest.fixture(scope="module")
def champion_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("champion")
    train_classifier(out, n=5000, seed=0, epochs=6)
    return out


def _store(tmp_path: Path, champion_dir: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", champion_dir)
    return store


def test_a_warm_started_candidate_beats_the_champion_after_drift_and_becomes_champion(
        tmp_path: Path, champion_dir: Path) -> None:
    store = _store(tmp_path, champion_dir)
    job = RetrainJob(store, HoldoutGate(margin=0.01), max_epochs=8)
    result = job.run("rt-1", "churn", _examples(3000, 1), data_range=(0.0, 3000.0))
    assert (result.version, result.parent, result.passed, result.replayed) == (
        "v2", "v1", True, False)
    assert store.aliases("churn") == {CHAMPION: "v2"}
    fresh = _examples(4000, 2)  # unseen drifted traffic: the gain holds beyond the holdout
    before = accuracy(store.load_predictor("churn", "v1", "cpu"), fresh)
    after = accuracy(store.load_predictor("churn", "v2", "cpu"), fresh)
    assert after - before > 0.02
    assert result.record["candidate_accuracy"] - result.record["champion_accuracy"] >= 0.01
    assert result.record["n_train"] == 2100 and result.record["n_holdout"] == 900
    # the holdout is the most recent 30%: it starts after every training row
    assert result.record["holdout_from"] == 2100.0


def test_the_same_request_again_trains_nothing_and_publishes_nothing(
        tmp_path: Path, champion_dir: Path) -> None:
    store = _store(tmp_path, champion_dir)
    calls: list[int] = []

    def counting(*args: object, **kwargs: object) -> TrainedCandidate:
        calls.append(1)
        return warm_start(*args, **kwargs)  # type: ignore[arg-type]

    job = RetrainJob(store, HoldoutGate(margin=0.0), trainer=counting, max_epochs=2)
    first = job.run("rt-7", "churn", _examples(1000, 3), data_range=(0.0, 1.0))
    again = job.run("rt-7", "churn", _examples(1000, 3), data_range=(0.0, 1.0))
    assert calls == [1] and store.versions("churn") == ["v1", "v2"]
    assert (again.version, again.replayed, again.record) == (first.version, True, first.record)


def test_a_replay_does_not_undo_a_later_alias_move(tmp_path: Path, champion_dir: Path) -> None:
    store = _store(tmp_path, champion_dir)
    job = RetrainJob(store, HoldoutGate(margin=0.0), max_epochs=2)
    job.run("rt-a", "churn", _examples(1000, 4), data_range=(0.0, 1.0))
    store.set_alias("churn", CHAMPION, "v1")  # rolled back since
    job.run("rt-a", "churn", _examples(1000, 4), data_range=(0.0, 1.0))
    assert store.aliases("churn")[CHAMPION] == "v1"


def test_a_worse_candidate_is_rejected_and_the_champion_stays(
        tmp_path: Path, champion_dir: Path) -> None:
    store = _store(tmp_path, champion_dir)
    ex = _examples(2000, 5)

    def sabotaged(champion: Path, train: LabelledExamples, out: Path, **kw: object
                  ) -> TrainedCandidate:
        # trained on flipped labels but validated on the true ones
        bad = train.take(np.arange(len(train)))
        bad = LabelledExamples(bad.ts, bad.features, 1 - bad.labels, bad.names)
        return warm_start(champion, bad, out, **kw)  # type: ignore[arg-type]

    job = RetrainJob(store, HoldoutGate(margin=0.01), trainer=sabotaged, max_epochs=4)
    result = job.run("rt-bad", "churn", ex, data_range=(0.0, 1.0))
    assert not result.passed and result.alias is None
    assert result.record["candidate_accuracy"] < result.record["champion_accuracy"]
    assert store.aliases("churn") == {CHAMPION: "v1"}
    assert store.versions("churn") == ["v1", "v2"]  # published for the record


def test_too_few_examples_for_a_holdout_is_a_clear_error(tmp_path: Path,
                                                         champion_dir: Path) -> None:
    store = _store(tmp_path, champion_dir)
    with pytest.raises(ValueError, match="cannot be split"):
        RetrainJob(store, HoldoutGate(0.0)).run("rt-x", "churn", _examples(1, 6),
                                                data_range=(0.0, 1.0))


def test_with_an_experiment_a_passing_candidate_becomes_challenger_not_champion(
        tmp_path: Path, champion_dir: Path) -> None:
    store = _store(tmp_path, champion_dir)
    job = RetrainJob(store, HoldoutGate(margin=0.0), max_epochs=3, alias=CHALLENGER)
    result = job.run("rt-ab", "churn", _examples(1500, 7), data_range=(0.0, 1.0))
    assert result.passed and result.alias == CHALLENGER
    assert store.aliases("churn") == {CHAMPION: "v1", CHALLENGER: "v2"}
    with pytest.raises(ValueError, match="alias must be"):
        RetrainJob(store, HoldoutGate(0.0), alias="latest")


def test_the_workers_trainer_and_gate_fine_tune_validate_with_mcnemar_and_card_the_version(
        tmp_path: Path, champion_dir: Path) -> None:
    from scipy.stats import binomtest

    from retrain.candidate import fine_tuned
    from retrain.holdout_gate import PairedGate
    from retrain.validation import ValidationPolicy

    store = _store(tmp_path, champion_dir)
    gate = PairedGate(ValidationPolicy(margin=0.01, latency_tolerance=3.0))
    job = RetrainJob(store, gate, trainer=fine_tuned, max_epochs=8)
    examples = _examples(3000, 1)
    result = job.run("rt-9", "churn", examples, data_range=(0.0, 3000.0))
    assert (result.version, result.passed, store.aliases("churn")) == ("v2", True,
                                                                       {CHAMPION: "v2"})
    checks = {row[0]: row for row in result.record["checks"]}
    assert set(checks) == {"accuracy", "latency", "cost"} and all(
        row[3] for row in checks.values())
    # the McNemar p-value in the reason is the exact binomial test on the discordant pairs
    _, holdout = examples.time_holdout(0.3)
    old = store.load_predictor("churn", "v1", "cpu").predict_batch(holdout.features).labels
    new = store.load_predictor("churn", "v2", "cpu").predict_batch(holdout.features).labels
    b = int(np.sum((old == holdout.labels) & (new != holdout.labels)))
    c = int(np.sum((old != holdout.labels) & (new == holdout.labels)))
    exact = binomtest(c, b + c, 0.5, alternative="greater").pvalue
    assert exact < 0.05 and "accuracy p" in result.record["reason"]
    card = store.card("churn", "v2")
    assert card is not None and card.lineage.parent == "v1"
    assert card.lineage.data_range == (0.0, 3000.0)
    (move,) = store.alias_history("churn", CHAMPION)[-1:]
    assert move.version == "v2" and "rt-9" in move.reason
