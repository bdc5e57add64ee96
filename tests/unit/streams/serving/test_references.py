"""The references follow the version a model serves: cached, and read again together
once a model update moved it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detectors.embedding_sample import project
from detectors.reference import embedding as embedding_reference
from detectors.reference.profile import OUTPUT_REFERENCE, ReferenceProfile
from inference.registry import ModelStore
from inference.served_versions import CHAMPION, ServedVersions
from streams.serving.references import References


def _profile(version: str, seed: int) -> ReferenceProfile:
    x = np.random.default_rng(seed).normal(loc=seed, size=(500, 2))
    return ReferenceProfile.from_features("churn", version, ["a", "b"], x)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    """``churn`` v1 (the champion) and v2, each with its own input and output profiles
    (seeds 1 and 2, 101 and 102), and no artifact: none is needed here."""
    store = ModelStore(tmp_path / "models")
    for seed, version in enumerate(("v1", "v2"), start=1):
        build = tmp_path / f"build-{version}"
        build.mkdir()
        _profile(version, seed).save(build / "reference.json")
        _profile(version, seed + 100).save(build / OUTPUT_REFERENCE)
        store.publish("churn", version, build)
    store.set_alias("churn", CHAMPION, "v1")
    return store


def _embeddings(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(40, 8))


def test_the_references_are_the_champions_until_a_model_update_moves_them(
        store: ModelStore) -> None:
    served = ServedVersions(store, device=None)
    references = References(served)
    path = store.root / "churn" / embedding_reference.FILE_NAME
    embedding_reference.save(path, _embeddings(1))
    assert references.reference("churn") == _profile("v1", 1)
    assert references.output_reference("churn") == _profile("v1", 101)
    np.testing.assert_allclose(references.embedding_reference("churn"),
                               project(_embeddings(1)))
    store.set_alias("churn", CHAMPION, "v2")
    embedding_reference.save(path, _embeddings(2))
    # read once: the registry is not read again before a model update says it moved
    assert references.reference("churn") == _profile("v1", 1)
    np.testing.assert_allclose(references.embedding_reference("churn"),
                               project(_embeddings(1)))
    served.invalidate("churn")
    assert references.reference("churn") == _profile("v2", 2)
    assert references.output_reference("churn") == _profile("v2", 102)
    np.testing.assert_allclose(references.embedding_reference("churn"),
                               project(_embeddings(2)))


def test_clear_reads_every_reference_again(store: ModelStore) -> None:
    references = References(ServedVersions(store, device=None))
    assert references.reference("churn") == _profile("v1", 1)
    store.set_alias("churn", CHAMPION, "v2")
    references.clear()
    assert references.reference("churn") == _profile("v2", 2)
    assert references.output_reference("churn") == _profile("v2", 102)
    assert references.performance_reference("churn") is None  # published without one
