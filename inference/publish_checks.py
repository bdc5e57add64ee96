"""What a model must show before it is published: its answers on a sample of its data.

:func:`check_model` runs a loaded model version on a sample of the reference rows and
refuses it (:class:`PublishRefused`, one message naming the cause) when

- it fails on the sample, or its output has another number of columns than the spec's
  classes (``ModelSpec.n_outputs``) or another number of rows than the sample;
- an output (a probability, an embedding) is NaN or infinite;
- a row scored alone differs from the same row scored in the batch by more than
  :data:`BATCH_TOLERANCE` (a layer left in training mode, batch-norm or dropout, makes
  a row's answer depend on its neighbours);
- when a GPU is present, the model loaded on the other device (cuda against cpu) answers
  otherwise, beyond :data:`DEVICE_TOLERANCE`.

The predictor is what :func:`inference.loaders.load_version` returns (``spec``,
``device``, ``predict_batch(ModelInputs)``); any object of that shape will do.

Examples
--------
>>> import numpy as np
>>> from inference.model_spec import ModelSpec
>>> from inference.predictor import PredictionBatch
>>> class Constant:
...     spec = ModelSpec.from_dict({"kind": "torchscript", "task": "binary",
...                                 "classes": ["no", "yes"],
...                                 "inputs": {"numeric": [{"name": "x"}]}})
...     device = "cpu"
...     def __init__(self, p): self.p = p
...     def predict_batch(self, inputs):
...         return PredictionBatch.from_probabilities(np.tile(self.p, (len(inputs), 1)), 0.0)
>>> sample = ModelInputs.of_numeric(np.zeros((4, 1)))
>>> check_model(Constant([0.3, 0.7]), sample, gpu=False)
>>> check_model(Constant([0.2, 0.3, 0.5]), sample, gpu=False)
Traceback (most recent call last):
...
inference.publish_checks.PublishRefused: the model gives 3 output columns, but its spec \
declares 2 classes ['no', 'yes']: the classes must name the model's outputs in order
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import numpy as np

from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec, SpecError
from inference.predictor import PredictionBatch

__all__ = ["BATCH_TOLERANCE", "DEVICE_TOLERANCE", "PublishRefused", "check_model",
           "check_outputs"]

#: largest difference of a probability between a row scored alone and in a batch
BATCH_TOLERANCE: Final = 1e-4
#: largest difference of a probability between the model on cuda and on cpu (cuda's
#: kernels sum in another order, and may use TF32)
DEVICE_TOLERANCE: Final = 1e-3
#: rows scored one at a time against the batch
SINGLE_ROWS: Final = 8


class PublishRefused(SpecError):
    """A model version that is not published; the message names the check that failed."""


class SpecPredictor(Protocol):
    """What the checks need of a loaded version (see :mod:`inference.loaders`)."""

    spec: ModelSpec
    device: str

    def predict_batch(self, inputs: ModelInputs) -> PredictionBatch:
        """Score one batch of inputs."""
        ...


#: loads the same version again on the device it is given (``"cpu"``, ``"cuda"``)
LoadOn = Callable[[str], SpecPredictor]


def check_model(predictor: SpecPredictor, sample: ModelInputs, *,
                load_on: LoadOn | None = None, gpu: bool | None = None) -> None:
    """Refuse ``predictor`` (:class:`PublishRefused`) unless it answers ``sample`` well.

    Parameters
    ----------
    predictor
        The loaded version, with its ``spec``.
    sample
        Rows of the reference data, encoded by the spec (two or more).
    load_on
        Loads the version again on another device; without it the device check is
        skipped.
    gpu
        Whether a CUDA device is present (None: ask torch).
    """
    if len(sample) < 2:
        raise PublishRefused(f"the checks need a sample of 2 rows or more, got {len(sample)}")
    out = _answer(predictor, sample, "a batch of the reference data")
    check_outputs(predictor.spec, out, len(sample))
    _check_batch_independence(predictor, sample, out)
    if load_on is not None and (_cuda_present() if gpu is None else gpu):
        _check_other_device(predictor, sample, out, load_on)


def _answer(predictor: SpecPredictor, inputs: ModelInputs, what: str) -> PredictionBatch:
    try:
        return predictor.predict_batch(inputs)
    except Exception as exc:  # the user's model may raise anything; name it and stop
        raise PublishRefused(f"the model failed on {what} ({len(inputs)} rows): "
                             f"{type(exc).__name__}: {exc}") from exc


def check_outputs(spec: ModelSpec, out: PredictionBatch, n: int) -> None:
    """Refuse outputs of another shape than ``(n, spec.n_outputs)``, or not finite."""
    _check_shape(spec, out, n)
    _check_finite(out)


def _check_shape(spec: ModelSpec, out: PredictionBatch, n: int) -> None:
    probs = _columns(out)
    if probs.ndim != 2 or probs.shape[1] != spec.n_outputs:
        columns = probs.shape[1] if probs.ndim == 2 else f"shape {probs.shape} of"
        raise PublishRefused(
            f"the model gives {columns} output columns, but its spec declares "
            f"{spec.n_outputs} classes {list(spec.classes)}: the classes must name the "
            f"model's outputs in order")
    if probs.shape[0] != n:
        raise PublishRefused(f"the model answered {probs.shape[0]} rows for a batch of {n}: "
                             "it must give one output row per input row")


def _columns(out: PredictionBatch) -> np.ndarray:
    """The output columns: the probabilities, or a regression's values as one column (its
    probabilities are ``(n, 0)``)."""
    return np.asarray(out.probabilities if out.values is None else out.values.reshape(-1, 1))


def _check_finite(out: PredictionBatch) -> None:
    for name, values in (("output", out.probabilities), ("value", out.values),
                         ("embedding", out.embeddings)):
        if values is None:
            continue
        finite = np.isfinite(np.asarray(values, dtype=np.float64)).reshape(len(values), -1)
        bad = np.logical_not(np.all(finite, axis=1))
        if bad.any():
            raise PublishRefused(
                f"the model's {name} is NaN or infinite for {int(bad.sum())} of {bad.size} "
                f"rows (the first: row {int(np.argmax(bad))}): a model must give "
                f"finite outputs")


def _check_batch_independence(predictor: SpecPredictor, sample: ModelInputs,
                              batch: PredictionBatch) -> None:
    for row in range(min(SINGLE_ROWS, len(sample))):
        alone = _answer(predictor, sample.take([row]),
                        f"a batch of one (row {row}) where a batch of {len(sample)} ran: "
                        "is a layer in training mode? call model.eval() before saving")
        gap = float(np.max(np.abs(_columns(alone)[0] - _columns(batch)[row])))
        if not gap <= BATCH_TOLERANCE:
            raise PublishRefused(
                f"the model answers row {row} differently alone and in a batch of "
                f"{len(sample)} (probabilities differ by {gap:.3g}, tolerance "
                f"{BATCH_TOLERANCE:g}): its answers depend on the batch; a layer in "
                f"training mode (batch-norm, dropout)? call model.eval() before saving")


def _check_other_device(predictor: SpecPredictor, sample: ModelInputs, out: PredictionBatch,
                        load_on: LoadOn) -> None:
    other = "cpu" if predictor.device.startswith("cuda") else "cuda"
    try:
        twin = load_on(other)
    except Exception as exc:  # a model that cannot move between devices is refused too
        raise PublishRefused(f"the model does not load on {other} (it ran on "
                             f"{predictor.device}): {type(exc).__name__}: {exc}") from exc
    again = _answer(twin, sample, f"{other} (it ran on {predictor.device})")
    _check_shape(predictor.spec, again, len(sample))
    gap = float(np.max(np.abs(_columns(again) - _columns(out))))
    if not gap <= DEVICE_TOLERANCE:
        raise PublishRefused(
            f"the model answers differently on {predictor.device} and on {other} "
            f"(probabilities differ by up to {gap:.3g}, tolerance {DEVICE_TOLERANCE:g}): "
            "a device-dependent operation or state in the model")


def _cuda_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())

