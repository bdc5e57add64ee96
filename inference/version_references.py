"""A version's references, built by running the model on its reference data.

What the monitors compare live traffic against, written into the version folder before
it is published (the same files ``retrain.trainer`` writes for the demo model):

- ``reference.json``: the numeric inputs' decile bins
  (:class:`~detectors.reference.profile.ReferenceProfile`), with each feature's share of
  missing values in the data (a default stood in for them);
- ``reference_categories.json``: the categorical inputs' counts per category, unseen and
  missing (:class:`~detectors.reference.categories.CategoryProfile`), over the raw values;
- ``embedding_reference.npy``: for a text input, the model's own embeddings of the
  reference rows (:mod:`detectors.reference.embedding`);
- ``reference_output.json``: the model's scores on the reference rows (prediction drift);
- with labels, for a regression, ``error_reference.json`` (its MAE, RMSE and bias on the
  holdout); for a classifier, ``performance_reference.json`` (the calibration and accuracy on the
  holdout, for the estimate before labels) and ``holdout.npz`` (the holdout's numeric
  inputs, category codes and labels, which a reduced precision is checked against);
- ``reference_importance.json``: the model's permutation importance per numeric and
  categorical input (:mod:`detectors.reference.importance`), what the cause ranking
  weighs a drifted feature by: against the labels on the holdout when there are labels,
  else against the model's own answers on the reference rows (its reliance on each input).

Input and output references come from the reference rows, the performance reference
(and, with labels, the importance) from the holdout rows, as the trainer splits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from detectors.confusion import CLASS_OUTPUT, class_edges
from detectors.reference import embedding as embedding_reference
from detectors.reference.categories import FILE_NAME as CATEGORIES_FILE
from detectors.reference.categories import CategoryProfile
from detectors.reference.importance import FILE_NAME as IMPORTANCE_FILE
from detectors.reference.importance import write_importance
from detectors.reference.performance import FILE_NAME as PERFORMANCE_FILE
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import OUTPUT_REFERENCE, OUTPUTS, ReferenceProfile
from detectors.reference.regression import FILE_NAME as ERRORS_FILE
from detectors.reference.regression import ErrorReference
from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from inference.predictor import PredictionBatch
from inference.publish_checks import PublishRefused, SpecPredictor, check_outputs
from inference.quantize import HOLDOUT_FILE
from inference.reference_data import ReferenceTable

__all__ = ["INPUT_REFERENCE", "BuiltReferences", "Holdout", "score_rows", "write_references"]

#: the numeric inputs' profile in a version folder (as the worker reads it)
INPUT_REFERENCE: Final = "reference.json"
#: rows per forward pass while scoring the reference data
SCORING_BATCH: Final = 1024
#: most rows the permutation importance is measured on (each input costs 5 passes)
IMPORTANCE_ROWS: Final = 2000


@dataclass(frozen=True)
class Holdout:
    """The labelled rows set aside: their inputs and class indices (a regression's true
    values)."""

    inputs: ModelInputs
    labels: np.ndarray


@dataclass(frozen=True)
class BuiltReferences:
    """What :func:`write_references` wrote: the files, rows, and the holdout accuracy
    (None without labels); ``notes`` says what was left out and why."""

    files: tuple[str, ...]
    n_reference: int
    n_holdout: int
    holdout_accuracy: float | None
    notes: tuple[str, ...] = ()
    holdout_mae: float | None = None


def score_rows(predictor: SpecPredictor, inputs: ModelInputs,
               batch: int = SCORING_BATCH) -> PredictionBatch:
    """The model's answers on every row of ``inputs``, ``batch`` rows at a time, refused
    (:class:`PublishRefused`) when any is not finite or of the wrong shape."""
    parts = [predictor.predict_batch(inputs.take(np.arange(start, min(start + batch,
                                                                      len(inputs)))))
             for start in range(0, len(inputs), batch)]
    embeddings = [p.embeddings for p in parts]
    values = [p.values for p in parts]
    out = PredictionBatch(
        labels=np.concatenate([p.labels for p in parts]),
        scores=np.concatenate([p.scores for p in parts]),
        probabilities=np.concatenate([p.probabilities for p in parts]),
        inference_s=sum(p.inference_s for p in parts),
        embeddings=None if any(e is None for e in embeddings)
        else np.concatenate(embeddings),  # type: ignore[arg-type]
        values=None if any(v is None for v in values)
        else np.concatenate(values))  # type: ignore[arg-type]
    check_outputs(predictor.spec, out, len(inputs))
    return out


def write_references(folder: Path, model: str, version: str, predictor: SpecPredictor,
                     table: ReferenceTable, inputs: ModelInputs,
                     holdout: Holdout | None = None, *, seed: int = 0) -> BuiltReferences:
    """Write the references of ``table`` (its raw columns, encoded as ``inputs``) and of
    the model's answers on them into ``folder``; with ``holdout``, its performance.
    ``seed`` seeds the importance's rows and shuffles."""
    spec, folder = predictor.spec, Path(folder)
    out = score_rows(predictor, inputs)
    files, notes = [], []
    if spec.numeric:
        _numeric_profile(model, version, spec, table, inputs).save(folder / INPUT_REFERENCE)
        files.append(INPUT_REFERENCE)
    if spec.categorical:
        CategoryProfile.from_columns(
            {c.name: table.columns[c.name] for c in spec.categorical},
            {c.name: c.vocabulary for c in spec.categorical}).save(folder / CATEGORIES_FILE)
        files.append(CATEGORIES_FILE)
    if spec.text is not None:
        if out.embeddings is None:
            notes.append("no embedding reference: the model gives no embeddings")
        else:
            _save_embeddings(folder / embedding_reference.FILE_NAME, out.embeddings)
            files.append(embedding_reference.FILE_NAME)
    _output_profile(model, version, out).save(folder / OUTPUT_REFERENCE)
    files.append(OUTPUT_REFERENCE)
    accuracy = mae = None
    if holdout is not None and len(holdout.labels) and spec.task == "regression":
        mae = _errors(folder, model, version, predictor, holdout)
        files += [ERRORS_FILE, HOLDOUT_FILE]
    elif holdout is not None and len(holdout.labels):
        accuracy = _performance(folder, model, version, predictor, holdout)
        files += [PERFORMANCE_FILE, HOLDOUT_FILE]
    elif holdout is not None:
        notes.append("no performance reference: the holdout is empty")
    if spec.numeric or spec.categorical:
        rng = np.random.default_rng(seed)
        if holdout is not None and len(holdout.labels):
            _importance(folder, model, version, predictor, holdout.inputs, holdout.labels, rng)
        else:
            _importance(folder, model, version, predictor, inputs, None, rng)
        files.append(IMPORTANCE_FILE)
    else:
        notes.append("no importance: the model has no numeric or categorical input")
    n_holdout = 0 if holdout is None else len(holdout.labels)
    return BuiltReferences(tuple(files), len(inputs), n_holdout, accuracy, tuple(notes), mae)


def _output_profile(model: str, version: str, out: PredictionBatch) -> ReferenceProfile:
    """The scores' deciles and, for a multi-class model, its predicted classes (one bin
    per class: prediction drift over the classes names the class that moved)."""
    k = out.probabilities.shape[1]
    if k <= 2:
        return ReferenceProfile.from_features(model, version, OUTPUTS, out.scores[:, None])
    profile = ReferenceProfile.from_features(model, version, (*OUTPUTS, CLASS_OUTPUT),
                                             np.column_stack((out.scores, out.labels)))
    profile.edges[1] = class_edges(k)
    profile.counts[1] = np.bincount(out.labels, minlength=k).astype(np.int64)
    return profile


def _numeric_profile(model: str, version: str, spec: ModelSpec, table: ReferenceTable,
                     inputs: ModelInputs) -> ReferenceProfile:
    profile = ReferenceProfile.from_features(model, version, spec.feature_names, inputs.numeric)
    # a default stood in for a missing value: the share missing is the data's own
    profile.missing = np.array([sum(v is None for v in table.columns[name]) / table.n
                                for name in spec.feature_names])
    return profile


def _importance(folder: Path, model: str, version: str, predictor: SpecPredictor,
                inputs: ModelInputs, labels: np.ndarray | None,
                rng: np.random.Generator) -> None:
    """Save the permutation importance of each numeric and categorical input, measured on
    at most :data:`IMPORTANCE_ROWS` of ``inputs`` against ``labels`` (None: against the
    model's own answers)."""
    spec = predictor.spec
    if len(inputs) > IMPORTANCE_ROWS:
        rows = np.sort(rng.choice(len(inputs), size=IMPORTANCE_ROWS, replace=False))
        inputs = inputs.take(rows)
        labels = None if labels is None else labels[rows]
    n_numeric = inputs.numeric.shape[1]
    # one matrix of the numeric values and the category codes (exact as float64), so a
    # category is shuffled across rows as a number is; the texts stay with their rows
    X = np.hstack([inputs.numeric.astype(np.float64), inputs.categorical.astype(np.float64)])

    def predict(rows: np.ndarray) -> np.ndarray:
        out = score_rows(predictor, ModelInputs(
            rows[:, :n_numeric].astype(np.float32), rows[:, n_numeric:].astype(np.int64),
            inputs.text))
        return out.probabilities if out.values is None else out.values

    write_importance(folder, model, version, (*spec.feature_names, *spec.categorical_names),
                     predict, X, labels, rng,
                     loss="squared_error" if spec.task == "regression" else "error_rate")


def _save_embeddings(path: Path, embeddings: np.ndarray) -> None:
    try:
        embedding_reference.save(path, embeddings)
    except ValueError as exc:
        raise PublishRefused(f"the embedding reference cannot be built: {exc}") from None


def _errors(folder: Path, model: str, version: str, predictor: SpecPredictor,
            holdout: Holdout) -> float:
    """Save the holdout and the regression's errors on it; its MAE there."""
    out = score_rows(predictor, holdout.inputs)  # a regression's score is its value
    ref = ErrorReference.from_holdout(model, version, out.scores, holdout.labels)
    ref.save(folder / ERRORS_FILE)
    _save_holdout(folder, holdout)
    return ref.mae


def _save_holdout(folder: Path, holdout: Holdout) -> None:
    np.savez(folder / HOLDOUT_FILE, features=holdout.inputs.numeric,
             categorical=holdout.inputs.categorical, labels=holdout.labels)


def _performance(folder: Path, model: str, version: str, predictor: SpecPredictor,
                 holdout: Holdout) -> float:
    """Save the holdout and the model's calibration on it; its accuracy there."""
    out = score_rows(predictor, holdout.inputs)
    # a binary model is calibrated on P(class 1), as the monitor reads its score
    probs = out.scores if out.probabilities.shape[1] == 2 else out.probabilities
    ref = PerformanceReference.from_holdout(model, version, probs, holdout.labels)
    ref.save(folder / PERFORMANCE_FILE)
    _save_holdout(folder, holdout)
    return ref.accuracy
