"""The monitoring path's stages as a worker's settings build them, handed a clock and the
references.

The worker and the backtest build the monitor stage, the outcome join and the decision
step here, from one :class:`~streams.settings.WorkerConfig`, so a replay judges with the
very windows, merges, thresholds and alert book the worker uses. What differs is only
what each is handed: the worker passes the wall clock and carries the stages' records
through Kafka; the backtest (:mod:`streams.backtest`) passes the recorded traffic's event
time and carries its records from a recorded source, sending nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from detectors.reference.categories import CategoryProfile
from detectors.reference.importance import ReferenceImportance
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import ReferenceProfile
from detectors.reference.regression import ErrorReference
from streams.decision.config import DecisionConfig
from streams.decision.shadow_verdict import ShadowPolicy
from streams.decision.slo_burn import BudgetCallback
from streams.decision.stage import DecisionStage
from streams.experiments.spec import StartedLookup, no_started
from streams.monitoring.join_stage import JoinStage
from streams.monitoring.monitor_stage import MonitorStage
from streams.settings import WorkerConfig
from streams.wire.topics import Topics

#: what reads the time: ``time.time`` in the worker, the records' event time in a replay
Clock = Callable[[], float]


class ReferenceSource(Protocol):
    """The reference profiles the monitors and the decision step compare against, per
    model (:class:`~streams.serving.references.References` is one)."""

    def reference(self, model: str) -> ReferenceProfile | None: ...

    def output_reference(self, model: str) -> ReferenceProfile | None: ...

    def embedding_reference(self, model: str) -> np.ndarray | None: ...

    def performance_reference(self, model: str) -> PerformanceReference | None: ...

    def category_reference(self, model: str) -> CategoryProfile | None: ...

    def importance(self, model: str) -> ReferenceImportance | None: ...

    def error_reference(self, model: str) -> ErrorReference | None: ...


def decision_config(cfg: WorkerConfig) -> DecisionConfig:
    """The decision step's configuration: the monitor settings and the retrain budget."""
    return DecisionConfig.from_settings(
        cfg.monitor, retrain_min_new_labels=cfg.retrain.min_new_labels,
        retrain_budget=cfg.retrain.budget, retrain_budget_period_s=cfg.retrain.budget_period_s)


def monitor_stage(cfg: WorkerConfig, topics: Topics, references: ReferenceSource,
                  clock: Clock) -> MonitorStage:
    """The monitor stage: predictions in, one summary per partition window out."""
    monitor = cfg.monitor
    return MonitorStage(
        topics=topics, references=references.reference,
        summary_size=monitor.summary_size, summary_interval_s=monitor.summary_interval_s,
        max_record_bytes=cfg.kafka.max_record_bytes,
        output_references=references.output_reference,
        slo_threshold_s=monitor.slo_threshold_s, embedding_sample=monitor.embedding_sample,
        unit_sample=monitor.ab_unit_sample,
        performance_references=references.performance_reference,
        category_references=references.category_reference, clock=clock)


def join_stage(cfg: WorkerConfig, topics: Topics, clock: Clock) -> JoinStage:
    """The outcome join: predictions meet their labels; error counts out."""
    return JoinStage(topics=topics, max_record_bytes=cfg.kafka.max_record_bytes,
                     interval_s=cfg.monitor.summary_interval_s, clock=clock)


def decision_stage(cfg: WorkerConfig, topics: Topics, references: ReferenceSource,
                   clock: Clock, *, started: StartedLookup = no_started,
                   on_budget: BudgetCallback | None = None) -> DecisionStage:
    """The decision step: merged summaries in; reports, alerts and retrain requests out."""
    return DecisionStage(
        topics=topics, references=references.reference, config=decision_config(cfg),
        max_record_bytes=cfg.kafka.max_record_bytes,
        output_references=references.output_reference,
        embedding_references=references.embedding_reference,
        started=started, performance_references=references.performance_reference,
        category_references=references.category_reference,
        importance=references.importance, on_budget=on_budget, clock=clock,
        error_references=references.error_reference,
        shadow_policy=ShadowPolicy.parse(cfg.monitor.shadow_promote, cfg.monitor.shadow_horizon,
                                         cfg.monitor.ab_alpha))
