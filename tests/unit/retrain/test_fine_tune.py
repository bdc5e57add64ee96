"""Fine-tuning from the champion: warm start, early stopping, determinism, metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inference.torch_predictor import TorchPredictor
from retrain.fine_tune import fine_tune, load_champion
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from retrain.trainer import TrainedModel, train_classifier
from retrain.training_set import TrainingSet

DRIFT = Drift("f0", shift=2.5)
QUICK: dict[str, Any] = {"max_epochs": 4, "patience": 2, "learning_rate": 3e-3}


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return train_classifier(tmp_path_factory.mktemp("champion"), n=3000, epochs=3, seed=1)


@pytest.fixture(scope="module")
def drifted() -> TrainingSet:
    batch = FeatureGenerator(5).sample(2000, drift=DRIFT)
    return TrainingSet(batch.features, batch.labels, FEATURES, batch.segments)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(probabilities[np.arange(len(labels)), labels])))


def test_same_seed_same_weights_other_seed_other_weights(
    champion: TrainedModel, drifted: TrainingSet, tmp_path: Path
) -> None:
    torch.manual_seed(99)
    expected_next = torch.rand(1)
    torch.manual_seed(99)
    a = fine_tune(champion.model_path.parent, drifted, tmp_path / "a", version="v2", seed=3,
                  **QUICK)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's RNG is untouched
    b = fine_tune(champion.model_path.parent, drifted, tmp_path / "b", version="v2", seed=3,
                  **QUICK)
    c = fine_tune(champion.model_path.parent, drifted, tmp_path / "c", version="v2", seed=4,
                  **QUICK)
    wa, wb, wc = _weights(a.model_path), _weights(b.model_path), _weights(c.model_path)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (a.validation_loss, a.best_epoch, a.epochs) == (b.validation_loss, b.best_epoch,
                                                           b.epochs)
    assert not torch.equal(wa["layers.0.weight"], wc["layers.0.weight"])


def test_candidate_recovers_accuracy_lost_to_drift(
    champion: TrainedModel, drifted: TrainingSet, tmp_path: Path
) -> None:
    out = fine_tune(champion.model_path.parent, drifted, tmp_path, version="v2", seed=0,
                    max_epochs=8, patience=3, learning_rate=3e-3)
    assert out.best_epoch >= 1 and out.epochs <= 8
    fresh = FeatureGenerator(11).sample(3000, drift=DRIFT)
    old = TorchPredictor.load(champion.model_path, device="cpu").predict_batch(fresh.features)
    new = TorchPredictor.load(out.model_path, device="cpu").predict_batch(fresh.features)
    old_acc = float(np.mean(old.labels == fresh.labels))
    new_acc = float(np.mean(new.labels == fresh.labels))
    assert new_acc > old_acc + 0.01, (old_acc, new_acc)
    # what the fine-tune reports is the kept weights' figure on the recent 20 %
    _, val = drifted.split_recent(0.2)
    probs = TorchPredictor.load(out.model_path, device="cpu").predict_batch(val.features)
    assert out.accuracy == pytest.approx(np.mean(probs.labels == val.labels))
    assert out.validation_loss == pytest.approx(
        _cross_entropy(probs.probabilities, val.labels), rel=1e-5)
    assert out.n_train == 1600


def test_no_improvement_keeps_the_champions_weights(
    champion: TrainedModel, drifted: TrainingSet, tmp_path: Path
) -> None:
    # a step size this large only makes the validation loss worse: epoch 0 (the champion) stays
    out = fine_tune(champion.model_path.parent, drifted, tmp_path, version="v2",
                    max_epochs=10, patience=2, learning_rate=50.0)
    assert (out.best_epoch, out.epochs) == (0, 2)
    before, after = _weights(champion.model_path), _weights(out.model_path)
    assert all(torch.equal(before[k], after[k]) for k in before)
    _, val = drifted.split_recent(0.2)
    probs = TorchPredictor.load(champion.model_path, device="cpu").predict_batch(val.features)
    assert out.validation_loss == pytest.approx(
        _cross_entropy(probs.probabilities, val.labels), rel=1e-5)


def test_metadata_names_parent_device_and_seed(
    champion: TrainedModel, drifted: TrainingSet, tmp_path: Path
) -> None:
    seen: list[tuple[int, float]] = []
    out = fine_tune(champion.model_path.parent, drifted, tmp_path, version="v7", seed=5,
                    device="cpu", on_epoch=lambda e, loss: seen.append((e, loss)), **QUICK)
    _, meta = load_champion(out.model_path)
    assert (meta["version"], meta["parent_version"], meta["trained_on"], meta["seed"]) == (
        "v7", "v1", "cpu", 5)
    assert meta["mean"] == load_champion(champion.model_path)[1]["mean"]  # standardisation kept
    assert (out.device, out.parent, out.version) == ("cpu", "v1", "v7")
    assert [e for e, _ in seen] == list(range(1, out.epochs + 1))
    assert out.best_epoch >= 1  # a step of 3e-3 on drifted rows improves on the champion
    assert min(loss for _, loss in seen) == seen[out.best_epoch - 1][1] == out.validation_loss
    assert (tmp_path / "reference.json").is_file()


def test_default_device_is_cuda_when_present(
    champion: TrainedModel, drifted: TrainingSet, tmp_path: Path
) -> None:
    out = fine_tune(champion.model_path.parent, drifted.rows(slice(0, 300)), tmp_path,
                    version="v2", max_epochs=1, patience=1)
    assert out.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert load_champion(out.model_path)[1]["trained_on"] == out.device


def test_wrong_columns_labels_or_arguments_raise(
    champion: TrainedModel, drifted: TrainingSet, tmp_path: Path
) -> None:
    folder = champion.model_path.parent
    renamed = TrainingSet(drifted.features, drifted.labels, tuple(f"g{i}" for i in range(8)))
    with pytest.raises(ValueError, match="same columns"):
        fine_tune(folder, renamed, tmp_path, version="v2")
    three = TrainingSet(drifted.features, np.full(len(drifted), 2), FEATURES)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.1"):
        fine_tune(folder, three, tmp_path, version="v2")
    with pytest.raises(ValueError, match="patience"):
        fine_tune(folder, drifted, tmp_path, version="v2", patience=0)
    with pytest.raises(ValueError, match="learning_rate"):
        fine_tune(folder, drifted, tmp_path, version="v2", learning_rate=float("nan"))
    with pytest.raises(FileNotFoundError, match="no champion artifact"):
        fine_tune(tmp_path / "missing", drifted, tmp_path, version="v2")
    (tmp_path / "bad").mkdir()
    torch.save({"format": 99}, tmp_path / "bad" / "model.pt")
    with pytest.raises(ValueError, match="not an inferwatch model artifact"):
        fine_tune(tmp_path / "bad", drifted, tmp_path, version="v2")
