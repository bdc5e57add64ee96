"""A multi-class model's output reference holds its predicted classes, one bin each; a
binary model's holds its scores alone, as before."""

from __future__ import annotations

import numpy as np

from detectors.confusion import CLASS_OUTPUT
from detectors.reference.profile import OUTPUTS
from inference.predictor import PredictionBatch
from inference.version_references import _output_profile


def test_a_four_class_reference_counts_each_predicted_class_in_its_own_bin() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), 1000)
    profile = _output_profile("m", "v1", PredictionBatch.from_probabilities(p, 0.0))
    assert profile.names == (*OUTPUTS, CLASS_OUTPUT)
    np.testing.assert_array_equal(profile.counts[1], np.bincount(p.argmax(1), minlength=4))
    idx = profile.bin_indices(np.column_stack((p[:, 1], p.argmax(1))))
    np.testing.assert_array_equal(idx[:, 1], p.argmax(1))


def test_a_binary_reference_keeps_its_scores_alone() -> None:
    p = np.random.default_rng(1).random(500)
    profile = _output_profile("m", "v1",
                              PredictionBatch.from_probabilities(np.column_stack((1 - p, p)), 0.0))
    assert profile.names == OUTPUTS
