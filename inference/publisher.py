"""Publishing a model version: checked on its data, its references built, published whole.

:func:`publish_with_data` is ``inferwatch models publish``: it copies the user's version
folder (``model.json`` and the artifact) aside, loads it, reads the reference data
(:mod:`inference.reference_data`), runs the checks on a sample
(:func:`~inference.publish_checks.check_model`), builds the references by running the
model on the data (:mod:`inference.version_references`), and only then publishes the
folder with its card (:meth:`~inference.registry.ModelStore.publish`, which renames it
into place). A refusal (:class:`~inference.publish_checks.PublishRefused`, naming the
cause) leaves the store as it was. :func:`publish_checked` is the same last step for a
folder whose references are already built (``inferwatch train``'s).

The worker reads a model's embedding reference at ``<model_dir>/<model>/`` (today's
:mod:`streams.serving.references`), so a text model's is also copied there, after the
version itself is published.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from detectors.reference import embedding as embedding_reference
from inference.model_card import Lineage, ModelCard
from inference.model_inputs import ModelInputs, encode_table
from inference.model_spec import ModelSpec, SpecError
from inference.publish_checks import PublishRefused, SpecPredictor, check_model
from inference.reference_data import (
    ReferenceDataError,
    ReferenceTable,
    label_codes,
    read_reference,
    split_holdout,
    true_values,
)
from inference.registry import ModelStore
from inference.version_references import BuiltReferences, Holdout, write_references

__all__ = ["SAMPLE_ROWS", "Loader", "PublishedVersion", "publish_checked", "publish_with_data"]

#: rows of the data the checks run on
SAMPLE_ROWS: Final = 256
#: loads a version folder on a device (None: the loader's choice), as
#: :func:`inference.loaders.load_version` does
Loader = Callable[[Path, str | None], SpecPredictor]


@dataclass(frozen=True)
class PublishedVersion:
    """A published version: where it is, its card, and the references it was given."""

    model: str
    version: str
    path: Path
    card: ModelCard
    device: str
    references: BuiltReferences | None = None


def publish_with_data(store: ModelStore, model: str, version: str, source: Path, data: Path,
                      *, label: str | None = None, holdout: float = 0.2,
                      device: str | None = None, seed: int = 0, loader: Loader | None = None,
                      gpu: bool | None = None) -> PublishedVersion:
    """Publish ``source`` as ``model``'s ``version`` with the references of ``data``.

    ``holdout`` is the share of rows set aside (seeded by ``seed``) to measure the model
    on, when a ``label`` column is named. Raises :class:`PublishRefused` naming the cause
    (nothing is published then), SpecError for a bad ``model.json``, FileExistsError for
    a version already published.
    """
    _refuse_published(store, model, version)
    load = loader or _load_version
    with tempfile.TemporaryDirectory(prefix=f"publish-{model}-") as tmp:
        # named <model>/<version> as in the store: the loader names the model by it
        staging = _copy_source(Path(source), Path(tmp) / model / version)
        predictor = _load(load, staging, device)
        table = _read(Path(data), predictor.spec, label)
        inputs = _encode(predictor.spec, table)
        kept, held = split_holdout(table.n, holdout if label is not None else 0.0, seed)
        check_model(predictor, inputs.take(_sample_rows(table.n, seed)),
                    load_on=lambda other: _load(load, staging, other), gpu=gpu)
        labelled = _holdout(table, predictor.spec, inputs, held) if label is not None else None
        built = write_references(staging, model, version, predictor, table.rows(kept),
                                 inputs.take(kept), labelled, seed=seed)
        path = store.publish(model, version, staging, lineage=Lineage(metrics=_metrics(built)))
    _place_embedding_reference(store, model, path)
    card = store.card(model, version)
    assert card is not None  # published with its lineage just now
    return PublishedVersion(model, version, path, card, predictor.device, built)


def publish_checked(store: ModelStore, model: str, version: str, folder: Path,
                    sample: ModelInputs, lineage: Lineage, *, device: str | None = None,
                    loader: Loader | None = None, gpu: bool | None = None
                    ) -> PublishedVersion:
    """Check the version in ``folder`` on ``sample``, then publish it with its card."""
    _refuse_published(store, model, version)
    load = loader or _load_version
    predictor = _load(load, Path(folder), device)
    check_model(predictor, sample, load_on=lambda other: _load(load, Path(folder), other),
                gpu=gpu)
    path = store.publish(model, version, Path(folder), lineage=lineage)
    card = store.card(model, version)
    assert card is not None  # published with its lineage just now
    return PublishedVersion(model, version, path, card, predictor.device)


def _refuse_published(store: ModelStore, model: str, version: str) -> None:
    if store.path_for(model, version).exists():
        raise FileExistsError(f"{model} {version} is already published at "
                              f"{store.path_for(model, version)}; publish a new version")


def _copy_source(source: Path, staging: Path) -> Path:
    if not source.is_dir():
        raise PublishRefused(f"{source} is not a folder: give the version folder that holds "
                             "model.json and the artifact")
    staging.parent.mkdir(parents=True)
    shutil.copytree(source, staging)
    return staging


def _load_version(folder: Path, device: str | None) -> SpecPredictor:
    from inference.loaders import load_version

    # no warm-up: the checks score the model at once, and name what is wrong with it
    return load_version(folder, device, warmup=False)


def _load(load: Loader, folder: Path, device: str | None) -> SpecPredictor:
    try:
        return load(folder, device)
    except SpecError:
        raise
    except Exception as exc:  # a corrupt or foreign artifact: refuse it, naming why
        where = f" on {device}" if device else ""
        raise PublishRefused(f"the model in {folder.name} does not load{where}: "
                             f"{type(exc).__name__}: {exc}") from exc


def _read(data: Path, spec: ModelSpec, label: str | None) -> ReferenceTable:
    strings = [*spec.categorical_names, *([spec.text.name] if spec.text else [])]
    try:
        return read_reference(data, numeric=spec.feature_names, strings=strings, label=label)
    except ReferenceDataError as exc:
        raise PublishRefused(f"the reference data: {exc}") from None


def _encode(spec: ModelSpec, table: ReferenceTable) -> ModelInputs:
    try:
        return encode_table(spec, table.columns)
    except SpecError as exc:
        raise PublishRefused(f"the reference data {table.path}: {exc}") from None


def _holdout(table: ReferenceTable, spec: ModelSpec, inputs: ModelInputs,
             rows: np.ndarray) -> Holdout:
    assert table.label is not None
    try:
        labels = (true_values(table.label) if spec.task == "regression"
                  else label_codes(table.label, spec.classes))
    except ReferenceDataError as exc:
        raise PublishRefused(f"the reference data {table.path}: {exc}") from None
    return Holdout(inputs.take(rows), labels[rows])


def _sample_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(n, SAMPLE_ROWS), replace=False))


def _metrics(built: BuiltReferences) -> dict[str, float]:
    metrics = {"n_reference": float(built.n_reference), "n_holdout": float(built.n_holdout)}
    if built.holdout_accuracy is not None:
        metrics["holdout_accuracy"] = built.holdout_accuracy
    if built.holdout_mae is not None:
        metrics["holdout_mae"] = built.holdout_mae
    return metrics


def _place_embedding_reference(store: ModelStore, model: str, version_path: Path) -> None:
    """Copy the version's embedding reference where the worker reads it, atomically."""
    source = version_path / embedding_reference.FILE_NAME
    if not source.is_file():
        return
    target = store.root / model / embedding_reference.FILE_NAME
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
