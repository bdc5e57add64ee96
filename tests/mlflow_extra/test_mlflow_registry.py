"""The MLflow-backed registry against a real local MLflow tracking store (sqlite).

Runs in the venv of the ``mlflow`` extra: ``make test-mlflow`` (the main suite ignores
this folder (see pyproject.toml), because mlflow 3.17 pins pyarrow < 26).
"""

from __future__ import annotations

import shutil
from itertools import count
from pathlib import Path

import mlflow
import numpy as np
import pytest

from inference.mlflow_registry import MlflowRegistry
from inference.model_card import Lineage, ModelCard, content_hash
from inference.torch_predictor import TorchPredictor
from retrain.synthetic import FeatureGenerator
from retrain.trainer import train_classifier


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("builds")
    for version, seed in (("v1", 1), ("v2", 2)):
        train_classifier(root / version, version=version, n=500, epochs=1, seed=seed)
    return {"v1": root / "v1", "v2": root / "v2"}


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowRegistry:
    # MLflow's defaults would write ./mlflow.db or ./mlruns: the store must be the one given
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    ticks = count(1000)
    return MlflowRegistry(f"sqlite:///{tmp_path / 'registry.db'}",
                          artifact_root=(tmp_path / "artifacts").as_uri(),
                          clock=lambda: float(next(ticks)))


def _probabilities(predictor: TorchPredictor) -> np.ndarray:
    return predictor.predict_batch(FeatureGenerator(9).sample(200).features).probabilities


def test_register_alias_and_load_through_models_uri(
    registry: MlflowRegistry, builds: dict[str, Path], tmp_path: Path
) -> None:
    lineage = Lineage(parent="v1", data_range=(10.0, 20.0), metrics={"accuracy": 0.9},
                      device="cpu")
    first = registry.register("churn", builds["v1"], version="v1")
    second = registry.register("churn", builds["v2"], version="v2", lineage=lineage)
    assert (first, second) == ("1", "2")
    assert registry.card("churn", "2") == ModelCard(
        "churn", "v2", content_hash(builds["v2"]), 1001.0, lineage)

    registry.set_alias("churn", "champion", first)
    champion = registry.load_predictor("churn", "champion", device="cpu")
    assert champion.version == "v1"
    np.testing.assert_array_equal(
        _probabilities(champion), _probabilities(TorchPredictor.load(builds["v1"], "cpu")))

    registry.set_alias("churn", "champion", second)
    registry.set_alias("churn", "challenger", first)
    assert registry.alias_number("churn", "champion") == "2"
    promoted = registry.load_predictor("churn", "champion", device="cpu")
    np.testing.assert_array_equal(
        _probabilities(promoted), _probabilities(TorchPredictor.load(builds["v2"], "cpu")))
    assert registry.load_predictor("churn", "challenger", device="cpu").version == "v1"

    assert mlflow.get_registry_uri() != registry.tracking_uri  # the process's is put back
    assert list((tmp_path / "cwd").iterdir()) == []

    # what any MLflow client sees: the alias on the registered model, the URI resolves
    client = mlflow.MlflowClient(registry.tracking_uri)
    assert client.get_registered_model("churn").aliases == {"champion": 2, "challenger": 1}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri)
        plain = mlflow.artifacts.download_artifacts(
            artifact_uri="models:/churn@champion", dst_path=str(tmp_path / "plain"))
    assert content_hash(Path(plain)) == content_hash(builds["v2"])
    run_id = client.get_model_version("churn", "2").run_id
    assert run_id is not None
    run = client.get_run(run_id)
    assert run.data.metrics == {"accuracy": 0.9}


def test_a_changed_artifact_fails_the_load(
    registry: MlflowRegistry, builds: dict[str, Path], tmp_path: Path
) -> None:
    number = registry.register("churn", builds["v1"], version="v1")
    registry.set_alias("churn", "champion", number)
    stored = next((tmp_path / "artifacts").rglob("model.pt"))
    shutil.copyfile(builds["v2"] / "model.pt", stored)  # swapped behind the registry's back
    with pytest.raises(ValueError, match="corrupt or was changed"):
        registry.load_predictor("churn", "champion", device="cpu")


def test_register_needs_an_artifact(registry: MlflowRegistry, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no model\.pt"):
        registry.register("churn", tmp_path, version="v1")
