"""What the retrain worker announces on model-updates for a retrain's result."""

from __future__ import annotations

import numpy as np
import pytest

from retrain.examples import LabelledExamples
from retrain.retrain_job import RetrainResult
from streams.retraining.worker import version_events

RECORD = {"retrain_id": "rt-1", "parent": "v1", "data_from": 1.0, "data_to": 9.0,
          "n_train": 70, "n_holdout": 30, "train_s": 0.5, "device": "cpu",
          "champion_accuracy": 0.8, "candidate_accuracy": 0.9, "margin": 0.01,
          "passed": True, "reason": "passed: ...", "content_hash": "ab",
          "checks": [["accuracy_gain", 0.1, 0.01, True]]}


def test_a_passing_version_is_published_then_its_alias_moves() -> None:
    result = RetrainResult("rt-1", "churn", "v2", "v1", True, "champion", RECORD, False)
    published, moved = version_events(result, "/m/churn/v2/model.pt", now=5.0)
    assert (published.action, published.version, published.parent, published.passed) == (
        "published", "v2", "v1", True)
    assert published.metrics["candidate_accuracy"] == 0.9
    assert [(c.check, c.value, c.threshold, c.passed) for c in published.checks] == [
        ("accuracy_gain", 0.1, 0.01, True)]
    assert (moved.action, moved.alias, moved.previous, moved.checks) == (
        "promoted", "champion", "v1", [])


def test_a_rejected_version_is_published_and_moves_no_alias() -> None:
    record = {**RECORD, "passed": False, "checks": [["accuracy_gain", -0.1, 0.01, False]]}
    result = RetrainResult("rt-1", "churn", "v2", "v1", False, None, record, False)
    (only,) = version_events(result, "x", now=5.0)
    assert only.action == "published" and only.passed is False and only.alias == ""


def test_examples_keep_only_rows_with_every_feature_and_refuse_misaligned_arrays() -> None:
    rows = [(2.0, {"a": 1.0, "b": 2.0}, 1), (1.0, {"a": 3.0}, 0), (3.0, {"b": 5.0, "a": 4.0}, 0)]
    ex = LabelledExamples.from_rows(rows, ("a", "b"))
    np.testing.assert_array_equal(ex.features, [[1.0, 2.0], [4.0, 5.0]])
    assert ex.labels.tolist() == [1, 0] and ex.ts.tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="misaligned"):
        LabelledExamples(np.zeros(2), np.zeros((3, 2)), np.zeros(2, dtype=np.int64), ("a", "b"))
    with pytest.raises(ValueError, match="holdout fraction"):
        ex.time_holdout(1.0)
