"""The worker: a faust app hosting the batch loops and the low-rate agents.

High-rate paths (requests → predictions, predictions → summaries, everything → the
sink) are :class:`~streams.kafka.batch_loop.TransactionalLoop` and
:class:`~streams.storage.sink_loop.SinkLoop` instances run as services of the app; faust agents
serve the low-rate topics (alerts, model updates). A loop that fails crashes the worker
loudly rather than leaving it half alive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import faust
import mode
import msgspec
from aiokafka import TopicPartition

from inference.experiment_actuator import ExperimentActuator
from inference.registry import ModelStore
from inference.routing import VariantRouter
from streams.alerting.alert_log import format_alert
from streams.alerting.router import AlertRouter
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.errors import ConfigError
from streams.experiments.spec import ExperimentSpec
from streams.health.loop import HealthLoop
from streams.kafka import clients as kafka_clients
from streams.kafka.batch_loop import TransactionalLoop
from streams.kafka.record_writer import partition_of
from streams.kafka.topic_reader import read_latest
from streams.monitoring.join_stage import JoinStage
from streams.monitoring.monitor_stage import MonitorStage
from streams.serving.inference_stage import InferenceStage
from streams.serving.model_catalog import ModelCatalog
from streams.serving.model_load_alert import load_failure_alert, load_recovered_alert
from streams.settings import (
    AlertingSettings,
    ClickHouseSettings,
    HealthSettings,
    InferenceSettings,
    KafkaSettings,
    MonitorSettings,
    RetrainSettings,
    WebSettings,
)
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.sink_loop import SinkLoop
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import Readiness
from streams.telemetry.web_port import WebPort
from streams.wire.codec import decode_model_update, encode
from streams.wire.events import (
    Alert,
    ExperimentDecided,
    ExperimentStarted,
    ModelUpdate,
    ModelVersionPublished,
)
from streams.wire.topics import Topics

log = logging.getLogger(__name__)
ROLES = ("inference", "monitor", "join", "decide", "sink", "route", "health", "retrain")


@dataclass
class WorkerConfig:
    """Everything a worker needs, validated at start."""

    kafka: KafkaSettings
    inference: InferenceSettings
    monitor: MonitorSettings
    clickhouse: ClickHouseSettings
    alerting: AlertingSettings = field(default_factory=lambda: AlertingSettings())
    web: WebSettings = field(default_factory=lambda: WebSettings())
    health: HealthSettings = field(default_factory=lambda: HealthSettings())
    retrain: RetrainSettings = field(default_factory=lambda: RetrainSettings())
    roles: tuple[str, ...] = ROLES
    datadir: Path = field(default_factory=lambda: Path("var") / "faust")


class LoopService(mode.Service):
    """Runs one loop for the app's lifetime; stops it gracefully, crashes on failure."""

    def __init__(self, name: str, run: Callable[[asyncio.Event], Awaitable[None]],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loop_name = name
        self._run = run
        self._stop_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self._guarded())

    async def _guarded(self) -> None:
        try:
            await self._run(self._stop_event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.exception("%s loop failed; stopping the worker", self.loop_name)
            await self.crash(exc)

    async def on_stop(self) -> None:
        self._stop_event.set()
        if self._task is not None:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=30)


def _owner(loop: TransactionalLoop, assigned: set[TopicPartition], topic: str
           ) -> tuple[list[int], int, Callable[[str], bool]]:
    """After an assignment: the partitions of ``topic`` this worker now reads, how many
    ``topic`` has, and whether a record keyed by a name (a model, a request id) lands in
    one of them, by Kafka's default partitioner."""
    owned = sorted(tp.partition for tp in assigned if tp.topic == topic)
    count = loop.partition_count(topic)
    return owned, count, lambda name: partition_of(name.encode(), count) in owned


def create_app(cfg: WorkerConfig) -> faust.App:
    """The worker app with the loops of ``cfg.roles`` and the low-rate agents."""
    kafka = cfg.kafka
    topics = Topics(kafka.topic_prefix)
    cfg.datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{kafka.topic_prefix}worker", **kafka_clients.faust_options(kafka),
        value_serializer="raw", key_serializer="raw", web_enabled=False,
        datadir=str(cfg.datadir),
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=max(kafka.session_timeout_ms / 4000, 0.5),
        consumer_auto_offset_reset="earliest", stream_wait_empty=False)
    catalog = ModelCatalog(ModelStore(cfg.inference.model_dir), cfg.inference.device,
                           cfg.inference.binding, cfg.inference.precision,
                           cfg.inference.precision_tolerance)
    if "inference" in cfg.roles:
        from inference.torch_predictor import use_cpu_threads  # torch only where served
        use_cpu_threads(cfg.inference.cpu_threads)
        catalog.check_binding(cfg.inference.split)
        catalog.warm_up(cfg.inference.split)
    if "decide" in cfg.roles:
        given = catalog.check_embedding_references()
        if given:
            log.info("embedding references from files for %s", given)
    metrics = OpsMetrics()
    readiness = Readiness(max_commit_age_s=cfg.web.ready_commit_age_s)
    if cfg.alerting.metrics_port:
        web = WebPort(metrics=metrics, readiness=readiness,
                      live_timeout_s=cfg.web.live_timeout_s)
        port = web.start(cfg.web.host, cfg.alerting.metrics_port)
        log.info("web port on http://%s:%d: /metrics, /livez, /readyz", cfg.web.host, port)

        @app.task
        async def answer_liveness() -> None:
            web.watch(asyncio.get_running_loop())

    actuator = ExperimentActuator(catalog.store, cfg.inference.split, cfg.inference.experiment)
    for name, run in _loops(cfg, topics, catalog, actuator, metrics, readiness).items():
        app.add_dependency(LoopService(name, run, loop=app.loop))

    @app.agent(app.topic(topics.alerts, value_serializer="raw"))
    async def print_alerts(stream: Any) -> None:
        async for raw in stream:
            log.warning("%s", format_alert(_decode_alert(raw)))

    alerts_topic = app.topic(topics.alerts, value_serializer="raw", key_serializer="raw")

    @app.agent(app.topic(topics.model_updates, value_serializer="raw"))
    async def model_updates(stream: Any) -> None:
        async for raw in stream:
            update = _decode_update(raw)
            if "inference" in cfg.roles and isinstance(
                    update, ModelVersionPublished | ExperimentStarted):
                # read a new version in a thread: serving goes on while a large one loads
                variants = set(actuator.split) | set(actuator.split_for(update.model))
                await asyncio.to_thread(catalog.preload, update.model, sorted(variants))
            if isinstance(update, ExperimentDecided):
                if "inference" in cfg.roles:
                    _act(update, catalog, actuator)
            elif isinstance(update, ExperimentStarted):
                actuator.forget(update.model)
                catalog.invalidate(update.model)  # a version that fails to load is logged
                log.warning("experiment %s started on %s: split %s, variants now served %s",
                            update.experiment, update.model, actuator.split_for(update.model),
                            catalog.serving(update.model))
            elif update is not None:
                failures = catalog.invalidate(update.model)
                log.info("model %s %s %s; variants now served %s", update.model,
                         update.version, update.action, catalog.serving(update.model))
                for failure in failures:
                    alert = load_failure_alert(failure, update)
                    await alerts_topic.send(key=alert.fingerprint.encode(), value=encode(alert))
            for over in catalog.take_recovered():
                alert = load_recovered_alert(over, now=time.time())
                await alerts_topic.send(key=alert.fingerprint.encode(), value=encode(alert))

    return app


def _loops(cfg: WorkerConfig, topics: Topics, catalog: ModelCatalog,
           actuator: ExperimentActuator, metrics: OpsMetrics,
           readiness: Readiness) -> dict[str, Callable[[asyncio.Event], Awaitable[None]]]:
    kafka = cfg.kafka
    loops: dict[str, Callable[[asyncio.Event], Awaitable[None]]] = {}
    if "inference" in cfg.roles:
        stage = InferenceStage(
            topics=topics, predictors=catalog.predictor,
            router=VariantRouter(cfg.inference.split, salt=cfg.inference.experiment),
            routers=actuator.router, max_batch=cfg.inference.max_batch,
            max_wait_ms=cfg.inference.max_wait_ms, max_record_bytes=kafka.max_record_bytes)
        loops["inference"] = TransactionalLoop(
            name="inference", settings=kafka, topics=[topics.requests], stage=stage,
            metrics=metrics, progress=readiness.loop("inference")).run
    if "monitor" in cfg.roles:
        mstage = MonitorStage(
            topics=topics, references=catalog.reference,
            summary_size=cfg.monitor.summary_size,
            summary_interval_s=cfg.monitor.summary_interval_s,
            max_record_bytes=kafka.max_record_bytes, output_references=catalog.output_reference,
            slo_threshold_s=cfg.monitor.slo_threshold_s,
            embedding_sample=cfg.monitor.embedding_sample,
            unit_sample=cfg.monitor.ab_unit_sample,
            performance_references=catalog.performance_reference)
        loops["monitor"] = TransactionalLoop(
            name="monitor", settings=kafka, topics=[topics.predictions], stage=mstage,
            metrics=metrics, max_records=2000, progress=readiness.loop("monitor")).run
    if "join" in cfg.roles:
        jstage = JoinStage(topics=topics, max_record_bytes=kafka.max_record_bytes,
                           interval_s=cfg.monitor.summary_interval_s)

        async def hold_waiting(assigned: set[TopicPartition]) -> None:
            """Hold what waits to be joined in the partitions this worker now reads."""
            owned, count, owns = _owner(jloop, assigned, topics.predictions)
            if count != topics.partitions("join-state"):
                raise ConfigError(
                    f"{topics.predictions} has {count} partitions and {topics.join_state} "
                    f"{topics.partitions('join-state')}: the join's state must be "
                    "co-partitioned with what it joins; give both the same count")
            saved = await read_latest(kafka, topics.join_state,
                                      topics.partitions("join-state"), only=owned)
            restored = jstage.adopt(saved, owns=owns)
            log.info("join owns predictions partitions %s: %d waiting restored", owned, restored)

        jloop = TransactionalLoop(
            name="join", settings=kafka, topics=[topics.predictions, topics.outcomes],
            stage=jstage, metrics=metrics, max_records=2000, on_assigned=hold_waiting,
            progress=readiness.loop("join"))
        loops["join"] = jloop.run
    if "decide" in cfg.roles:
        dstage = DecisionStage(topics=topics, references=catalog.reference,
                               config=DecisionConfig.from_settings(
                                   cfg.monitor, retrain_min_new_labels=cfg.retrain.min_new_labels,
                                   retrain_budget=cfg.retrain.budget,
                                   retrain_budget_period_s=cfg.retrain.budget_period_s),
                               max_record_bytes=kafka.max_record_bytes,
                               output_references=catalog.output_reference,
                               embedding_references=catalog.embedding_reference,
                               started=catalog.started_experiment,
                               performance_references=catalog.performance_reference,
                               on_budget=lambda model, variant, slo, left:
                               metrics.slo_budget_remaining.labels(model, variant, slo).set(left))

        async def hand_over(assigned: set[TopicPartition]) -> None:
            """Hold the state of the models whose summaries this worker now reads."""
            owned, _, owns = _owner(dloop, assigned, topics.summaries)
            saved = await read_latest(kafka, topics.decision_state,
                                      topics.partitions("decision-state"))
            restored = dstage.adopt(saved, owns=owns)
            log.info("decide owns summaries partitions %s: models %s%s", owned, dstage.models,
                     f"; decision state restored for {restored}" if restored else "")

        dloop = TransactionalLoop(name="decide", settings=kafka, topics=[topics.summaries],
                                  stage=dstage, max_records=500, metrics=metrics,
                                  on_assigned=hand_over, progress=readiness.loop("decide"))
        loops["decide"] = dloop.run
    if "sink" in cfg.roles:
        loops["sink"] = _sink_runner(cfg, metrics, readiness)
    if "health" in cfg.roles:
        loops["health"] = HealthLoop(kafka=kafka, settings=cfg.health,
                                     dashboard_url=cfg.monitor.dashboard_url).run
    if "retrain" in cfg.roles:
        loops["retrain"] = _retrain_runner(cfg)
    if "route" in cfg.roles:
        if cfg.alerting.any_sink:
            loops["route"] = AlertRouter(kafka=kafka, settings=cfg.alerting, metrics=metrics,
                                         progress=readiness.loop("route")).run
        else:
            log.info("no alert sink configured (INFERWATCH_ALERTING_*): alerts are logged only")
    return loops


def _sink_runner(cfg: WorkerConfig, metrics: OpsMetrics, readiness: Readiness
                 ) -> Callable[[asyncio.Event], Awaitable[None]]:
    progress = readiness.loop("sink")  # registered now: not ready before the sink starts

    async def run(stop: asyncio.Event) -> None:
        store = await asyncio.to_thread(ClickHouseStore.open, cfg.clickhouse)
        try:
            await SinkLoop(kafka=cfg.kafka, clickhouse=cfg.clickhouse, store=store,
                           metrics=metrics, progress=progress).run(stop)
        finally:
            store.close()
    return run


def _retrain_runner(cfg: WorkerConfig) -> Callable[[asyncio.Event], Awaitable[None]]:
    from retrain.candidate import fine_tuned
    from retrain.holdout_gate import PairedGate
    from retrain.retrain_job import CHALLENGER, CHAMPION, RetrainJob
    from retrain.validation import ValidationPolicy
    from streams.experiments.start import experiment_of
    from streams.retraining.labelled_examples import clickhouse_source, topic_source
    from streams.retraining.worker import RetrainWorker
    s, store = cfg.retrain, ModelStore(cfg.inference.model_dir)
    # a model with an experiment (configured, or started in the registry): a new version
    # starts as the challenger of an experiment of its own, whose decision promotes or
    # rolls it back; without one it becomes champion on validation

    def experiment(model: str) -> ExperimentSpec | None:
        return experiment_of(cfg.monitor.experiments, store, model)
    gate = PairedGate(ValidationPolicy(margin=s.margin, alpha=s.alpha,
                                       latency_tolerance=s.latency_tolerance))
    job = RetrainJob(store, gate, trainer=partial(fine_tuned, patience=s.patience),
                     seed=s.seed, max_epochs=s.max_epochs, holdout_fraction=s.holdout_fraction,
                     alias=lambda model: CHALLENGER if experiment(model) else CHAMPION)
    source = (clickhouse_source(cfg.clickhouse) if cfg.clickhouse.url
              else topic_source(cfg.kafka))
    return RetrainWorker(kafka=cfg.kafka, settings=s, store=store, job=job,
                         examples=source, experiments=experiment).run


def _decode_alert(raw: bytes) -> Alert:
    return msgspec.json.decode(raw, type=Alert)


def _decode_update(raw: bytes) -> ModelUpdate | None:
    try:
        return decode_model_update(raw)
    except msgspec.MsgspecError:
        log.error("undecodable model update skipped: %r", raw[:200])
        return None


def _act(decision: ExperimentDecided, catalog: ModelCatalog,
         actuator: ExperimentActuator) -> None:
    """Apply a final experiment decision to what this worker serves."""
    if decision.action not in ("promote", "rollback"):
        return
    model, challenger = decision.model, decision.challenger
    version = catalog.serving(model).get(challenger) or catalog.store.resolve(
        model, catalog.binding.ref(model, challenger))
    try:
        split = actuator.apply(
            model, decision.action, decision.champion, challenger, challenger_version=version,
            reason=f"experiment {decision.experiment} {decision.action} on {decision.metric} "
                   f"({challenger} {version}): {decision.reason}")
    except (OSError, ValueError) as exc:
        log.error("experiment %s: %s not applied: %s", decision.experiment, decision.action, exc)
        return
    catalog.invalidate(model)
    log.warning("experiment %s: %s (%s); %s now served %s, split %s", decision.experiment,
                decision.action, decision.reason, model, catalog.serving(model),
                split or actuator.split_for(model))
