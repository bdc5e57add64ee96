"""The model registry on MLflow: versions, aliases and ``models:/name@champion`` loading.

An option beside the file-backed :class:`~inference.registry.ModelStore`, for teams
whose models already live in an MLflow tracking server. A version's folder (``model.pt``
and its reference profiles) is logged as the artifacts of a run, under ``model/``, and
registered as a new version of the registered model; its card (content hash, parent,
data range, device, creation time, inferwatch's own version name) goes into the model
version's tags, its metrics into the run. Aliases are MLflow's own
(``set_registered_model_alias``), so ``models:/churn@champion`` names the champion in
any MLflow client, and :meth:`MlflowRegistry.load_predictor` loads it from that URI,
checking the downloaded files against the registered content hash.

Needs the ``mlflow`` extra (``pip install 'inferwatch[mlflow]'``), which pins
pyarrow < 26, so it lives in a venv of its own here (``make test-mlflow``)::

    registry = MlflowRegistry("sqlite:///mlflow.db", artifact_root="file:///srv/mlruns")
    number = registry.register("churn", Path("build/v2"), version="v2",
                               lineage=Lineage(parent="v1", device="cuda"))
    registry.set_alias("churn", "champion", number)
    predictor = registry.load_predictor("churn", "champion")
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.model_card import Lineage, ModelCard, content_hash

if TYPE_CHECKING:
    from inference.torch_predictor import TorchPredictor

__all__ = ["MlflowRegistry"]

_TAG = "inferwatch."
_ARTIFACT_PATH = "model"
_REGISTRY_ENV = "MLFLOW_REGISTRY_URI"


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            "inference.mlflow_registry needs MLflow: install the extra, "
            "`pip install 'inferwatch[mlflow]'` (mlflow 3.17)"
        ) from exc
    return mlflow


class MlflowRegistry:
    """Model versions and aliases in an MLflow tracking store and model registry.

    Parameters
    ----------
    tracking_uri
        The tracking store, e.g. ``sqlite:////srv/mlflow.db`` or ``http://mlflow:5000``.
    registry_uri
        The model registry; default: the tracking store.
    artifact_root
        Where a new experiment keeps its artifacts (default: MLflow's).
    experiment
        The experiment that holds the runs of registered versions.
    clock
        Epoch seconds for the cards' creation times.
    """

    def __init__(
        self,
        tracking_uri: str,
        *,
        registry_uri: str | None = None,
        artifact_root: str | None = None,
        experiment: str = "inferwatch-models",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.mlflow = _mlflow()
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.client = self.mlflow.MlflowClient(tracking_uri, self.registry_uri)
        self.artifact_root = artifact_root
        self.experiment = experiment
        self.clock = clock

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return str(found.experiment_id)
        return str(self.client.create_experiment(self.experiment, self.artifact_root))

    def register(
        self, model: str, folder: Path, *, version: str, lineage: Lineage | None = None
    ) -> str:
        """Register ``folder``'s files as a new version of ``model``; returns MLflow's number.

        ``version`` is inferwatch's name of it (``v2``), kept as a tag.
        """
        folder = Path(folder)
        if not (folder / "model.pt").is_file():
            raise FileNotFoundError(f"cannot register {model} {version}: no model.pt in {folder}")
        card = ModelCard.of(folder, model, version, lineage or Lineage(), created_at=self.clock())
        run = self.client.create_run(self._experiment_id(), run_name=f"{model}-{version}")
        run_id = run.info.run_id
        self.client.log_artifacts(run_id, str(folder), artifact_path=_ARTIFACT_PATH)
        for name, value in card.lineage.metrics.items():
            self.client.log_metric(run_id, name, float(value))
        self.client.set_terminated(run_id)
        if not self.client.search_registered_models(filter_string=f"name = '{model}'"):
            self.client.create_registered_model(model)
        created = self.client.create_model_version(
            model, f"{run.info.artifact_uri}/{_ARTIFACT_PATH}", run_id, tags=_tags(card)
        )
        return str(created.version)

    def set_alias(self, model: str, alias: str, number: str) -> None:
        """Point ``alias`` (``champion``, ``challenger``) at MLflow version ``number``."""
        self.client.set_registered_model_alias(model, alias, number)

    def alias_number(self, model: str, alias: str) -> str:
        """The MLflow version number that ``alias`` names."""
        return str(self.client.get_model_version_by_alias(model, alias).version)

    def card(self, model: str, number: str) -> ModelCard:
        """The card registered with MLflow version ``number`` of ``model``."""
        return _card_of(self.client.get_model_version(model, number).tags)

    def download(self, model: str, alias: str, dst: Path) -> tuple[Path, ModelCard]:
        """Fetch ``models:/<model>@<alias>`` into ``dst``; the folder and its checked card.

        Raises ValueError when the downloaded files do not hash to the registered hash.
        """
        card = _card_of(self.client.get_model_version_by_alias(model, alias).tags)
        with self._process_registry_uri():
            path = Path(self.mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{model}@{alias}", dst_path=str(dst),
                tracking_uri=self.tracking_uri, registry_uri=self.registry_uri,
            ))
        found = content_hash(path)
        if found != card.content_hash:
            raise ValueError(
                f"models:/{model}@{alias} downloaded as {found}, but was registered as "
                f"{card.content_hash}: the artifact is corrupt or was changed"
            )
        return path, card

    @contextmanager
    def _process_registry_uri(self) -> Iterator[None]:
        """Point the process's MLflow tracking and registry URIs at ours, then put them back.

        MLflow 3.17 resolves a ``models:/`` URI against the process-wide URIs, whatever a
        download is given (and would create ``./mlflow.db``, its default store, meanwhile).
        """
        registry_utils = self.mlflow.tracking._model_registry.utils
        tracking_utils = self.mlflow.tracking._tracking_service.utils
        saved, saved_env = registry_utils._registry_uri, os.environ.get(_REGISTRY_ENV)
        self.mlflow.set_registry_uri(self.registry_uri)
        try:
            with tracking_utils._use_tracking_uri(self.tracking_uri):
                yield
        finally:
            registry_utils._registry_uri = saved
            if saved_env is None:
                os.environ.pop(_REGISTRY_ENV, None)
            else:
                os.environ[_REGISTRY_ENV] = saved_env

    def load_predictor(
        self, model: str, alias: str = "champion", device: str | None = None
    ) -> TorchPredictor:
        """Load ``models:/<model>@<alias>`` as a TorchPredictor named by its inferwatch version."""
        from inference.torch_predictor import TorchPredictor

        with tempfile.TemporaryDirectory(prefix="inferwatch-mlflow-") as tmp:
            path, card = self.download(model, alias, Path(tmp))
            predictor = TorchPredictor.load(path / "model.pt", device)
        predictor.version = card.version
        return predictor


def _tags(card: ModelCard) -> dict[str, str]:
    lineage = card.lineage
    return {
        f"{_TAG}model": card.model,
        f"{_TAG}version": card.version,
        f"{_TAG}content_hash": card.content_hash,
        f"{_TAG}created_at": repr(card.created_at),
        f"{_TAG}parent": lineage.parent or "",
        f"{_TAG}data_range": json.dumps(lineage.data_range),
        f"{_TAG}device": lineage.device or "",
        f"{_TAG}metrics": json.dumps(dict(lineage.metrics), sort_keys=True),
    }


def _card_of(tags: dict[str, str]) -> ModelCard:
    if f"{_TAG}content_hash" not in tags:
        raise ValueError("this MLflow model version was not registered by inferwatch (no card)")
    data_range = json.loads(tags[f"{_TAG}data_range"])
    lineage = Lineage(
        parent=tags[f"{_TAG}parent"] or None,
        data_range=None if data_range is None else (float(data_range[0]), float(data_range[1])),
        metrics=json.loads(tags[f"{_TAG}metrics"]),
        device=tags[f"{_TAG}device"] or None,
    )
    return ModelCard(tags[f"{_TAG}model"], tags[f"{_TAG}version"],
                     tags[f"{_TAG}content_hash"], float(tags[f"{_TAG}created_at"]), lineage)
