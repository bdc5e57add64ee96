"""The library path a retrain takes: fine-tune, validate against the champion, publish.

A candidate fine-tuned on drifted traffic passes validation on a newer drifted holdout
and is published with its card; one fine-tuned on flipped labels is rejected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.model_card import Lineage
from inference.registry import ModelStore
from inference.torch_predictor import TorchPredictor
from retrain.fine_tune import fine_tune
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from retrain.trainer import TrainedModel, train_classifier
from retrain.training_set import TrainingSet
from retrain.validation import ValidationPolicy, time_batches, validate_candidate

DRIFT = Drift("f0", shift=2.5)
# same architecture on both sides; the wide latency tolerance absorbs this shared machine's
# noise (the latency check itself is tested exactly in test_validation.py)
POLICY = ValidationPolicy(margin=0.01, alpha=0.01, segment_tolerance=0.05,
                          latency_tolerance=3.0, min_segment_rows=100)


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return train_classifier(tmp_path_factory.mktemp("v1"), n=3000, epochs=3, seed=1)


def _validate(champion: TrainedModel, candidate: TrainedModel) -> tuple[bool, list[str]]:
    holdout = FeatureGenerator(21).sample(3000, drift=DRIFT)
    rows = TrainingSet(holdout.features, holdout.labels, FEATURES, holdout.segments)
    old = TorchPredictor.load(champion.model_path, device="cpu")
    new = TorchPredictor.load(candidate.model_path, device="cpu")
    report = validate_candidate(
        holdout.labels, old.predict_batch(holdout.features).labels,
        new.predict_batch(holdout.features).labels, POLICY,
        segments=rows.segment_masks(["region"]),
        latency=time_batches(old.predict_batch, new.predict_batch, holdout.features[:256],
                             repeats=5, warmup=1),
    )
    rows_out = report.rows(validation_id="t", model="churn", champion_version="v1",
                           candidate_version=candidate.version, at=0.0)
    assert len(rows_out) == len(report.checks) + 1
    return report.passed, report.failed


def test_a_candidate_fine_tuned_on_drift_passes_and_is_published(
    champion: TrainedModel, tmp_path: Path
) -> None:
    batch = FeatureGenerator(5).sample(2000, drift=DRIFT)
    examples = TrainingSet(batch.features, batch.labels, FEATURES, batch.segments,
                           np.arange(2000.0))
    candidate = fine_tune(champion.model_path.parent, examples, tmp_path / "build",
                          version="v2", seed=0, max_epochs=8, patience=3, learning_rate=3e-3)
    passed, failed = _validate(champion, candidate)
    assert passed, failed
    store = ModelStore(tmp_path / "models", clock=lambda: 5.0)
    assert examples.timestamps is not None
    lineage = Lineage(parent=candidate.parent,
                      data_range=(float(examples.timestamps[0]), float(examples.timestamps[-1])),
                      metrics={"val_accuracy": candidate.accuracy}, device=candidate.device)
    store.publish("churn", "v2", candidate.model_path.parent, lineage=lineage)
    card = store.verify("churn", "v2")
    assert (card.parent, card.lineage.data_range, card.lineage.device) == ("v1", (0.0, 1999.0),
                                                                           "cpu")


def test_a_candidate_fine_tuned_on_flipped_labels_is_rejected(
    champion: TrainedModel, tmp_path: Path
) -> None:
    batch = FeatureGenerator(6).sample(2000, drift=DRIFT)
    flipped = TrainingSet(batch.features, 1 - batch.labels, FEATURES)
    candidate = fine_tune(champion.model_path.parent, flipped, tmp_path, version="v3",
                          seed=0, max_epochs=4, patience=2, learning_rate=3e-3)
    passed, failed = _validate(champion, candidate)
    assert not passed and "accuracy" in failed
