"""One retrain, from labelled examples to a published, validated version; idempotent.

A retrain is keyed by its request's id (derived from the evidence). The job has a
trainer train a candidate from the champion (the contract of
:mod:`retrain.trainer_contract`; the built-in is :mod:`retrain.candidate`'s), checks the
folder it wrote and loads it (:class:`~retrain.trainer_contract.TrainingFailed` when
the trainer raised, ran past its deadline, or wrote no servable version: nothing is
published then, no alias moves), validates it against the
champion on the most recent examples (:mod:`retrain.holdout_gate`), and publishes it as
the model's next version with ``retrain.json`` beside it (the request id, the parent,
the data range, the figures, the verdict). A candidate that passes becomes the
``champion`` alias (or, with an experiment, the ``challenger``); one that fails stays
published for the record and is never aliased.

Running the same request again finds its version by the id and trains nothing: a
worker killed after the publish and before its offset commit redoes only the alias move,
once (a log of settled requests beside the model's aliases), so one request gives one
version and one alias move whatever the crashes.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.loaders import load_version
from inference.model_card import Lineage, content_hash
from inference.model_inputs import ModelInputs
from inference.model_spec import SpecError
from inference.publish_checks import check_model
from inference.registry import ModelStore
from inference.spec_predictor import SpecPredictor
from inference.torch_predictor import select_device
from retrain.candidate import CandidateTrainer, RowsTrainer, warm_start
from retrain.examples import LabelledExamples
from retrain.holdout_gate import Validator
from retrain.trainer_contract import (
    ExampleColumns,
    InProcessTrainer,
    TrainedCandidate,
    TrainerInput,
    TrainerRunner,
    TrainingFailed,
    candidate_spec,
)

__all__ = ["CHALLENGER", "CHAMPION", "RETRAIN_FILE", "RetrainJob", "RetrainResult"]

CHAMPION, CHALLENGER = "champion", "challenger"
#: beside each version a retrain published: what made it and what validation said
RETRAIN_FILE = "retrain.json"
#: per model: the retrain requests whose alias move is done, so a replay does not redo it
SETTLED_FILE = ".retrains-settled.json"
_NUMBERED = re.compile(r"^v(\d+)$")
#: holdout rows the publish checks score the candidate on
_SAMPLE_ROWS = 64


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain did: the version it published and where the aliases are now.

    ``replayed`` is True when the version existed already (a retried request).
    """

    retrain_id: str
    model: str
    version: str
    parent: str
    passed: bool
    alias: str | None
    record: dict[str, Any]
    replayed: bool


class RetrainJob:
    """Trains, validates and publishes one retrain request's candidate.

    Parameters
    ----------
    store
        The model registry.
    validator
        Judges the candidate against the champion on the holdout.
    trainer
        Trains the candidate from the champion: a :class:`~retrain.trainer_contract.
        TrainerRunner` (a contract trainer in this process, or in its own,
        :class:`~retrain.trainer_process.TrainerProcess`), or an in-process
        :class:`~retrain.candidate.CandidateTrainer` run for ``max_epochs`` (default:
        :func:`retrain.candidate.warm_start`).
    deadline_s
        The trainer's deadline, from the moment it starts.
    device
        The device the trainer is told to use (None: cuda when present).
    alias
        The alias a passing candidate takes: ``champion`` without an experiment,
        ``challenger`` with one (the experiment then promotes or rolls it back); or a
        function of the model's name that says which (each model has its own experiment).
    """

    def __init__(self, store: ModelStore, validator: Validator, *,
                 trainer: TrainerRunner | CandidateTrainer = warm_start, seed: int = 0,
                 max_epochs: int = 20, holdout_fraction: float = 0.3,
                 alias: str | Callable[[str], str] = CHAMPION, deadline_s: float = 3600.0,
                 device: str | None = None, clock: Callable[[], float] = time.time) -> None:
        if not callable(alias) and alias not in (CHAMPION, CHALLENGER):
            raise ValueError(f"alias must be {CHAMPION!r} or {CHALLENGER!r}, got {alias!r}")
        self.store = store
        self.validator = validator
        self.trainer: TrainerRunner = trainer if isinstance(trainer, TrainerRunner) else \
            InProcessTrainer(RowsTrainer(trainer, max_epochs))
        self.deadline_s = deadline_s
        self.device = device
        self.seed = seed
        self.max_epochs = max_epochs
        self.holdout_fraction = holdout_fraction
        self.alias = alias
        self.clock = clock

    def find(self, model: str, retrain_id: str) -> str | None:
        """The version that retrain ``retrain_id`` published, if any."""
        for version in self.store.versions(model):
            if self.record(model, version).get("retrain_id") == retrain_id:
                return version
        return None

    def record(self, model: str, version: str) -> dict[str, Any]:
        """The ``retrain.json`` of a version ({} for one no retrain made)."""
        path = self.store.path_for(model, version) / RETRAIN_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    def champion(self, model: str) -> str:
        """The champion's version; a model served before any alias existed gets its latest
        version named champion now, so that publishing a candidate moves no one."""
        found = self.store.resolve(model, CHAMPION)
        if found is not None:
            return found
        latest = self.store.latest(model)
        if latest is None:
            raise FileNotFoundError(f"no published version of {model!r} to retrain from "
                                    f"under {self.store.root}")
        self.store.set_alias(model, CHAMPION, latest)
        return latest

    def resume(self, model: str, retrain_id: str) -> RetrainResult | None:
        """The result of request ``retrain_id`` if its version is published (its alias
        move finished if a crash cut it short); None if it is still to do."""
        done = self.find(model, retrain_id)
        return None if done is None else self._settle(model, done, replayed=True)

    def run(self, retrain_id: str, model: str, examples: LabelledExamples, *,
            data_range: tuple[float, float],
            on_epoch: Callable[[int], None] | None = None) -> RetrainResult:
        """Retrain ``model`` for request ``retrain_id`` on ``examples`` (or find it done)."""
        resumed = self.resume(model, retrain_id)
        if resumed is not None:
            return resumed
        parent = self.champion(model)
        train, holdout = examples.time_holdout(self.holdout_fraction)
        with tempfile.TemporaryDirectory(prefix="candidate-") as tmp:
            out = Path(tmp) / "candidate"
            out.mkdir()
            trained = self._train(self.store.path_for(model, parent), train, holdout, out,
                                  on_epoch)
            report = self.validator.validate(
                self.store.load_predictor(model, parent, device="cpu"),
                _candidate_predictor(out, holdout), holdout)
            record = {
                "retrain_id": retrain_id, "parent": parent, "data_from": data_range[0],
                "data_to": data_range[1], "n_train": len(train), "n_holdout": len(holdout),
                "holdout_from": float(holdout.ts.min()), "epochs": trained.epochs,
                "train_s": trained.train_s, "device": trained.device,
                "champion_accuracy": report.champion_accuracy,
                "candidate_accuracy": report.candidate_accuracy, "margin": report.margin,
                "metric": report.metric, **report.figures(),
                "passed": report.passed, "reason": report.reason,
                "checks": [list(row) for row in report.rows()],
                "content_hash": hashlib.sha256((out / "model.pt").read_bytes()).hexdigest()
                if (out / "model.pt").is_file() else content_hash(out),
                "created_at": self.clock(),
            }
            (out / RETRAIN_FILE).write_text(json.dumps(record, sort_keys=True))
            self.store.publish(model, self._next_version(model), out, lineage=Lineage(
                parent=parent, data_range=data_range, device=trained.device, metrics={
                    **report.figures(),
                    "n_train": float(len(train)), "n_holdout": float(len(holdout))}))
        version = self.find(model, retrain_id)
        assert version is not None  # just published
        return self._settle(model, version, replayed=False)

    def _train(self, champion_dir: Path, train: LabelledExamples, holdout: LabelledExamples,
               out: Path, on_epoch: Callable[[int], None] | None) -> TrainedCandidate:
        """Have the trainer write the candidate into ``out`` (TrainingFailed if it cannot)."""
        rows = ExampleColumns.of_labelled(LabelledExamples(
            np.concatenate([train.ts, holdout.ts]),
            np.concatenate([train.features, holdout.features]),
            np.concatenate([train.labels, holdout.labels]), train.names, train.kind))
        device = select_device(self.device)
        started = time.perf_counter()
        trained = self.trainer.run(TrainerInput(
            champion_dir, rows, np.arange(len(rows)) >= len(train), self.seed, device,
            self.clock() + self.deadline_s, out, progress=on_epoch))
        return trained or TrainedCandidate(len(train), 0, time.perf_counter() - started, device)

    def _settle(self, model: str, version: str, *, replayed: bool) -> RetrainResult:
        """Move the alias to a passing version, once: a replay after the move (the
        request is in the settled log) leaves a later move, a rollback, as it is."""
        record = self.record(model, version)
        alias = self.alias_for(model) if record["passed"] else None
        log = self.store.root / model / SETTLED_FILE
        settled = json.loads(log.read_text()) if log.is_file() else {}
        if alias is not None and record["retrain_id"] not in settled:
            self.store.set_alias(model, alias, version,
                                 reason=f"retrain {record['retrain_id']}: {record['reason']}")
            settled[record["retrain_id"]] = {"alias": alias, "version": version}
            tmp = log.with_suffix(".tmp")
            tmp.write_text(json.dumps(settled, sort_keys=True))
            tmp.replace(log)
        return RetrainResult(record["retrain_id"], model, version, record["parent"],
                             bool(record["passed"]), alias, record, replayed)

    def alias_for(self, model: str) -> str:
        """The alias a passing candidate of ``model`` takes."""
        alias = self.alias(model) if callable(self.alias) else self.alias
        if alias not in (CHAMPION, CHALLENGER):
            raise ValueError(f"alias must be {CHAMPION!r} or {CHALLENGER!r}, got {alias!r}")
        return alias

    def _next_version(self, model: str) -> str:
        numbers = [int(m.group(1)) for v in self.store.versions(model)
                   if (m := _NUMBERED.match(v))]
        return f"v{max(numbers, default=0) + 1}"


def _candidate_predictor(out: Path, holdout: LabelledExamples) -> SpecPredictor:
    """The candidate in ``out``, loaded as serving loads a version and put through the
    publish checks on holdout rows (TrainingFailed naming the cause if it fails)."""
    candidate_spec(out)  # a folder that is no version at all, said as such
    fails = "the candidate fails the publish checks"
    try:
        predictor = load_version(out, "cpu")
    except Exception as exc:  # the trainer's artifact: anything that does not load
        raise TrainingFailed(f"{fails}: it does not load ({type(exc).__name__}: {exc})"
                             ) from exc
    lacking = [n for n in predictor.features if n not in holdout.names]
    if lacking:
        raise TrainingFailed(f"{fails}: it reads features {lacking} the examples lack")
    sample = holdout.features[:_SAMPLE_ROWS, [holdout.names.index(n) for n in
                                              predictor.features]]
    try:
        check_model(predictor, ModelInputs.of_numeric(sample))
    except SpecError as exc:  # PublishRefused names the check
        raise TrainingFailed(f"{fails}: {exc}") from exc
    return predictor
