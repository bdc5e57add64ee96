"""The trainer: accurate enough, deterministic for a seed, and its artifacts reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from detectors.reference.profile import ReferenceProfile
from inference.torch_predictor import TorchPredictor
from retrain.synthetic import FEATURES, FeatureGenerator
from retrain.trainer import TrainedModel, train_classifier

SMALL = {"n": 5000, "epochs": 4}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return train_classifier(tmp_path_factory.mktemp("a"), seed=1, **SMALL)


def test_accuracy_on_held_out_data(trained: TrainedModel) -> None:
    assert trained.accuracy > 0.8
    assert trained.n_train == 5000 and trained.train_s > 0


def test_same_seed_same_weights_and_global_rng_untouched(
    trained: TrainedModel, tmp_path: Path
) -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    again = train_classifier(tmp_path, seed=1, **SMALL)
    assert torch.equal(torch.rand(1), expected_next)
    a = torch.load(trained.model_path, weights_only=True)["state_dict"]
    b = torch.load(again.model_path, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert again.accuracy == trained.accuracy


def test_other_seed_other_weights(trained: TrainedModel, tmp_path: Path) -> None:
    other = train_classifier(tmp_path, seed=2, **SMALL)
    a = torch.load(trained.model_path, weights_only=True)["state_dict"]
    b = torch.load(other.model_path, weights_only=True)["state_dict"]
    assert not torch.equal(a["layers.0.weight"], b["layers.0.weight"])


def test_artifact_metadata(trained: TrainedModel) -> None:
    blob = torch.load(trained.model_path, weights_only=True)
    meta = blob["metadata"]
    assert (meta["model"], meta["version"], meta["hidden"]) == ("churn", "v1", [32, 32])
    assert meta["features"] == list(FEATURES) and len(meta["mean"]) == len(FEATURES)
    train = FeatureGenerator(1).sample(5000).features
    np.testing.assert_allclose(meta["mean"], train.mean(axis=0))
    np.testing.assert_allclose(meta["std"], train.std(axis=0))


def test_reference_profile_is_of_the_training_features(trained: TrainedModel) -> None:
    prof = ReferenceProfile.load(trained.reference_path)
    train = FeatureGenerator(1).sample(5000).features
    assert prof == ReferenceProfile.from_features("churn", "v1", FEATURES, train)


def test_reloaded_model_predicts_what_the_trainer_measured(trained: TrainedModel) -> None:
    gen = FeatureGenerator(1)
    gen.sample(5000)
    holdout = gen.sample(5000)
    first = TorchPredictor.load(trained.model_path, device="cpu")
    second = TorchPredictor.load(trained.model_path.parent)
    out1, out2 = first.predict_batch(holdout.features), second.predict_batch(holdout.features)
    np.testing.assert_array_equal(out1.probabilities, out2.probabilities)
    assert (out1.labels == holdout.labels).mean() == pytest.approx(trained.accuracy)


def test_bad_arguments_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="epochs"):
        train_classifier(tmp_path, n=5000, epochs=0)


def test_output_reference_profiles_the_models_training_scores(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from detectors.reference.profile import OUTPUT_REFERENCE, OUTPUTS, ReferenceProfile
    from retrain.trainer import train_classifier

    train_classifier(tmp_path, n=2000, epochs=2, seed=3)
    prof = ReferenceProfile.load(tmp_path / OUTPUT_REFERENCE)
    assert prof.names == OUTPUTS
    assert prof.n == 2000 and int(prof.counts[0].sum()) == 2000
    assert np.all(np.diff(prof.edges[0]) > 0)
    assert prof.edges[0][0] > 0.0 and prof.edges[0][-1] < 1.0  # deciles of probabilities


def test_performance_reference_is_the_holdouts_calibration_and_accuracy(
        trained: TrainedModel) -> None:
    from detectors.probability_calibration import fit_reference
    from detectors.reference import performance as performance_reference

    ref = performance_reference.PerformanceReference.load(
        trained.model_path.parent / performance_reference.FILE_NAME)
    assert ref.accuracy == pytest.approx(trained.accuracy) and ref.n == 5000
    gen = FeatureGenerator(1)
    gen.sample(5000)
    holdout = gen.sample(5000)
    scores = TorchPredictor.load(trained.model_path, device="cpu").predict_batch(
        holdout.features).probabilities[:, 1]
    assert ref.calibration == fit_reference(scores.astype(np.float64), holdout.labels)
    # calibrated on the holdout, the estimate there is its accuracy up to the isotonic fit
    assert ref.chances(scores).mean() == pytest.approx(trained.accuracy, abs=0.01)
