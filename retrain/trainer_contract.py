"""The contract between the retrain loop and a trainer: what goes in, what must come out.

A trainer is a plain function, named to the retrain worker as
``INFERWATCH_RETRAIN_TRAINER=package.module:function``::

    def train(job: TrainerInput) -> TrainedCandidate | None: ...

**In** (:class:`TrainerInput`):

- ``champion_dir``: the champion's version folder (read it, never write it);
- ``examples``: the labelled examples as columns (:class:`ExampleColumns`): ``ts``,
  ``numeric`` (name -> float64), ``categorical`` (name -> str), ``text``, and the
  ``target``, of kind ``label`` (int64 class index) or ``value`` (float64), in time order;
- ``holdout``: a boolean mask over the rows: the most recent ones, which validation
  scores the candidate on against the champion. Do not fit on them;
- ``seed``: the same seed should give the same candidate;
- ``device``: ``cpu`` or ``cuda[:N]``, what the retrain worker has;
- ``deadline``: a ``time.time()`` by which the trainer must have returned;
- ``out_dir``: an empty folder to write the candidate into.

**Out**: ``out_dir`` holds a model version: ``model.json`` (the spec,
:mod:`inference.model_spec`) and the artifact it names, or, for the project's own MLP, a
``model.pt`` alone (the legacy ``mlp`` kind). The return value is optional; a
:class:`TrainedCandidate` gives the record its epochs and timing.

**Failures**: a trainer that raises, runs past its deadline, or writes a folder that fails
the publish checks (a valid spec and its artifact, :func:`candidate_spec`; it loads as
serving loads it, :func:`inference.loaders.load_version`; it answers holdout rows well,
:func:`inference.publish_checks.check_model`) gives :class:`TrainingFailed` with the reason; the
retrain worker then publishes nothing, moves no alias, and says so (a ``RetrainDecided``
and a ticket). A configured trainer runs in a process of its own
(:mod:`retrain.trainer_process`), killed at the deadline.

The project's fine-tune of its MLP, :func:`retrain.candidate.mlp_fine_tune`, is one
implementation of this contract.

Examples
--------
>>> import numpy as np
>>> cols = ExampleColumns(ts=np.array([1.0, 2.0, 3.0]), numeric={"x": np.array([0.1, 0.2, 0.3])},
...                       target=np.array([0, 1, 1]))
>>> len(cols), cols.target_kind, cols.take(np.array([2])).numeric["x"].tolist()
(3, 'label', [0.3])
>>> trainer_reference("my_pkg.training:train")
('my_pkg.training', 'train')
>>> trainer_reference("my_pkg.training")
Traceback (most recent call last):
...
ValueError: INFERWATCH_RETRAIN_TRAINER must be package.module:function, got 'my_pkg.training'
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from inference.model_spec import SPEC_FILE, ModelSpec, SpecError
from retrain.examples import LabelledExamples

__all__ = ["ExampleColumns", "InProcessTrainer", "TrainedCandidate", "Trainer", "TrainerInput",
           "TrainerRunner", "TrainingFailed", "candidate_spec", "load_trainer",
           "trainer_reference"]

_REFERENCE = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)$")
_SETTING = "INFERWATCH_RETRAIN_TRAINER"


class TrainingFailed(Exception):
    """A retrain that produced nothing to publish; ``reason`` says why, for on-call."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TrainedCandidate:
    """What a trainer may return: rows trained on, epochs, seconds, and the device."""

    n_train: int
    epochs: int
    train_s: float
    device: str


@dataclass(frozen=True)
class ExampleColumns:
    """Labelled examples as columns, row-aligned and in time order (module docstring)."""

    ts: np.ndarray
    numeric: dict[str, np.ndarray]
    target: np.ndarray
    categorical: dict[str, np.ndarray] = field(default_factory=dict)
    text: list[str] | None = None
    target_kind: Literal["label", "value"] = "label"

    def __post_init__(self) -> None:
        n = len(self.ts)
        columns = {**self.numeric, **self.categorical, "target": self.target}
        bad = {k: len(v) for k, v in columns.items() if len(v) != n}
        if self.text is not None and len(self.text) != n:
            bad["text"] = len(self.text)
        if bad:
            raise ValueError(f"example columns misaligned: {n} timestamps, lengths {bad}")

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def of_labelled(cls, examples: LabelledExamples) -> ExampleColumns:
        """The columns of numeric examples, in their row order: class labels, or a
        regression's true values (target kind ``value``)."""
        return cls(examples.ts, {n: examples.features[:, i] for i, n in
                                 enumerate(examples.names)}, examples.labels,
                   target_kind=examples.kind)

    def labelled(self, names: tuple[str, ...] | None = None) -> LabelledExamples:
        """The numeric columns (``names``, default all) and the target as one matrix (class
        labels as int64, values as float64)."""
        names = tuple(self.numeric) if names is None else names
        features = np.column_stack([self.numeric[n] for n in names]) if names else \
            np.zeros((len(self), 0))
        target = self.target.astype(np.float64 if self.target_kind == "value" else np.int64)
        return LabelledExamples(self.ts, features, target, names, self.target_kind)

    def take(self, rows: np.ndarray) -> ExampleColumns:
        """The rows ``rows`` (indices or a boolean mask), in that order."""
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        return ExampleColumns(
            self.ts[idx], {k: v[idx] for k, v in self.numeric.items()}, self.target[idx],
            {k: v[idx] for k, v in self.categorical.items()},
            None if self.text is None else [self.text[i] for i in idx.tolist()],
            self.target_kind)


@dataclass(frozen=True)
class TrainerInput:
    """Everything a trainer gets (module docstring); ``holdout`` masks ``examples``' rows."""

    champion_dir: Path
    examples: ExampleColumns
    holdout: np.ndarray
    seed: int
    device: str
    deadline: float
    out_dir: Path
    #: called with each finished epoch; in-process trainers only (never pickled)
    progress: Callable[[int], None] | None = field(default=None, compare=False)

    def train_rows(self) -> ExampleColumns:
        """The rows to fit on: all but the holdout."""
        return self.examples.take(~self.holdout)


class Trainer(Protocol):
    """A trainer: writes a candidate version into ``job.out_dir`` (module docstring)."""

    def __call__(self, job: TrainerInput) -> Any: ...


@runtime_checkable
class TrainerRunner(Protocol):
    """Runs a trainer on a job: in this process, or in one of its own (with a deadline)."""

    def run(self, job: TrainerInput) -> TrainedCandidate | None: ...


class InProcessTrainer:
    """Runs a trainer in the calling thread: for trusted trainers (the built-in fine-tune,
    bounded by its epochs); the deadline is not enforced here, a hung trainer hangs."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def run(self, job: TrainerInput) -> TrainedCandidate | None:
        try:
            trained = self.trainer(job)
        except Exception as exc:
            name = getattr(self.trainer, "__name__", type(self.trainer).__name__)
            raise TrainingFailed(f"the trainer {name} raised {type(exc).__name__}: "
                                 f"{exc}") from exc
        return trained if isinstance(trained, TrainedCandidate) else None


def trainer_reference(ref: str) -> tuple[str, str]:
    """(module, function) of ``package.module:function``; ValueError naming the setting."""
    match = _REFERENCE.match(ref.strip())
    if match is None:
        raise ValueError(f"{_SETTING} must be package.module:function, got {ref!r}")
    return match.group(1), match.group(2)


def load_trainer(ref: str) -> Trainer:
    """Import the trainer ``ref`` names; ValueError naming the setting and what is wrong."""
    module_name, name = trainer_reference(ref)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{_SETTING}={ref!r}: cannot import {module_name!r} ({exc}); is "
                         "its package installed or on PYTHONPATH?") from exc
    trainer = getattr(module, name, None)
    if not callable(trainer):
        raise ValueError(f"{_SETTING}={ref!r}: {module_name} has no function {name!r}")
    return trainer


def candidate_spec(out_dir: Path) -> ModelSpec | None:
    """The spec of the candidate a trainer wrote (None for a legacy folder: a ``model.pt``
    of the project's MLP alone); TrainingFailed when the folder is not a model version
    (neither file, an invalid spec, or a missing artifact)."""
    out_dir = Path(out_dir)
    if not (out_dir / SPEC_FILE).is_file() and (out_dir / "model.pt").is_file():
        return None
    try:
        spec = ModelSpec.load(out_dir)
    except SpecError as exc:
        raise TrainingFailed(f"the candidate fails the publish checks: {exc}") from None
    if not (out_dir / spec.artifact).exists():
        raise TrainingFailed(f"the candidate fails the publish checks: {SPEC_FILE} names the "
                             f"artifact {spec.artifact!r}, which the trainer did not write")
    return spec
