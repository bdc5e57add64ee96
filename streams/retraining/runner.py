"""The retrain role of a worker: the retrain worker, built from the worker's settings.

A model with an experiment (configured in ``INFERWATCH_MONITOR_EXPERIMENTS``, or started
in the registry) gets each new version as the challenger of an experiment of its own,
whose decision promotes or rolls it back; a model without one gets a new version as
champion once it passes validation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from inference.registry import ModelStore
from streams.errors import ConfigError
from streams.experiments.spec import ExperimentSpec
from streams.settings import RetrainSettings, WorkerConfig

if TYPE_CHECKING:
    from retrain.trainer_contract import TrainerRunner

__all__ = ["retrain_runner", "trainer_of"]


def trainer_of(s: RetrainSettings) -> TrainerRunner:
    """The trainer ``s`` names, in a process of its own (imported now, so that a wrong
    name stops the worker at start: ConfigError naming INFERWATCH_RETRAIN_TRAINER); the
    built-in fine-tune of the project's MLP, in this process, when it names none."""
    from retrain.candidate import mlp_fine_tune
    from retrain.trainer_contract import InProcessTrainer, load_trainer
    from retrain.trainer_process import TrainerProcess

    if not s.trainer:
        return InProcessTrainer(partial(mlp_fine_tune, max_epochs=s.max_epochs,
                                        patience=s.patience))
    try:
        load_trainer(s.trainer)
    except ValueError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
    return TrainerProcess(s.trainer)


def retrain_runner(cfg: WorkerConfig) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The retrain loop of a worker configured by ``cfg``: run it until its event is set."""
    # imported here: torch and the trainer load only in workers that retrain
    from retrain.holdout_gate import PairedGate
    from retrain.retrain_job import CHALLENGER, CHAMPION, RetrainJob
    from retrain.validation import ValidationPolicy
    from streams.experiments.start import experiment_of
    from streams.retraining.labelled_examples import clickhouse_source, topic_source
    from streams.retraining.worker import RetrainWorker

    s, store = cfg.retrain, ModelStore(cfg.inference.model_dir)

    def experiment(model: str) -> ExperimentSpec | None:
        return experiment_of(cfg.monitor.experiments, store, model)

    gate = PairedGate(ValidationPolicy(margin=s.margin, alpha=s.alpha,
                                       latency_tolerance=s.latency_tolerance),
                      cost_tolerance=s.cost_tolerance)
    job = RetrainJob(store, gate, trainer=trainer_of(s), seed=s.seed,
                     holdout_fraction=s.holdout_fraction, deadline_s=s.trainer_deadline_s,
                     alias=lambda model: CHALLENGER if experiment(model) else CHAMPION)
    source = (clickhouse_source(cfg.clickhouse) if cfg.clickhouse.url
              else topic_source(cfg.kafka))
    return RetrainWorker(kafka=cfg.kafka, settings=s, store=store, job=job,
                         examples=source, experiments=experiment).run
