"""The worker: a faust app hosting the batch loops and the low-rate agents.

The composition root: it builds each role's loop from the worker's settings and wires them
to what they share. High-rate paths (requests → predictions, predictions → summaries,
everything → the sink) are :class:`~streams.kafka.batch_loop.TransactionalLoop` and
:class:`~streams.storage.sink_loop.SinkLoop` instances run as services of the app; faust
agents serve the low-rate topics (alerts, and model updates for
:class:`~streams.serving.hot_reload.HotReload`). A loop that fails crashes the worker
loudly rather than leaving it half alive.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
import mode
import msgspec
from aiokafka import TopicPartition

from inference.experiment_actuator import ExperimentActuator
from inference.registry import ModelStore
from inference.routing import VariantRouter
from inference.served_versions import ServedVersions
from streams.alerting.alert_log import format_alert
from streams.alerting.router import AlertRouter
from streams.decision import stages
from streams.errors import ConfigError
from streams.experiments.started import StartedExperiments
from streams.health.loop import HealthLoop
from streams.kafka import clients as kafka_clients
from streams.kafka.batch_loop import TransactionalLoop
from streams.kafka.record_writer import partition_of
from streams.kafka.topic_reader import read_latest
from streams.retraining.runner import retrain_runner
from streams.serving.hot_reload import HotReload
from streams.serving.inference_stage import InferenceStage
from streams.serving.references import References
from streams.serving.shadow import ServedShadows
from streams.serving.warm_start import cost_meter, warm_start
from streams.settings import ROLES, WorkerConfig
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.sink_loop import SinkLoop
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import Readiness
from streams.telemetry.web_port import WebPort
from streams.wire.codec import encode
from streams.wire.events import Alert
from streams.wire.topics import Topics

__all__ = ["ROLES", "WorkerConfig", "create_app"]

log = logging.getLogger(__name__)

#: a loop of the worker, run until its event is set
Runner = Callable[[asyncio.Event], Awaitable[None]]


class LoopService(mode.Service):
    """Runs one loop for the app's lifetime; stops it gracefully, crashes on failure."""

    def __init__(self, name: str, run: Runner, **kwargs: Any) -> None:
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


@dataclass(frozen=True)
class _Shared:
    """What the loops of one worker share."""

    topics: Topics
    served: ServedVersions
    references: References
    actuator: ExperimentActuator
    metrics: OpsMetrics
    readiness: Readiness


def create_app(cfg: WorkerConfig) -> faust.App:
    """The worker app with the loops of ``cfg.roles`` and the low-rate agents."""
    app = _faust_app(cfg)
    topics = Topics(cfg.kafka.topic_prefix)
    inference = cfg.inference
    served = ServedVersions(ModelStore(inference.model_dir), inference.device,
                            inference.binding, inference.precision,
                            inference.precision_tolerance)
    references = References(served)
    if "inference" in cfg.roles:
        warm_start(served, inference)
    if "decide" in cfg.roles and (given := references.check_embedding_references()):
        log.info("embedding references from files for %s", given)
    actuator = ExperimentActuator(served.store, inference.split, inference.experiment)
    shared = _Shared(topics, served, references, actuator, OpsMetrics(),
                     Readiness(max_commit_age_s=cfg.web.ready_commit_age_s))
    if cfg.alerting.metrics_port:
        _open_web_port(app, cfg, shared)
    for name, run in _loops(cfg, shared).items():
        app.add_dependency(LoopService(name, run, loop=app.loop))

    @app.agent(app.topic(topics.alerts, value_serializer="raw"))
    async def print_alerts(stream: Any) -> None:
        async for raw in stream:
            log.warning("%s", format_alert(msgspec.json.decode(raw, type=Alert)))

    alerts_topic = app.topic(topics.alerts, value_serializer="raw", key_serializer="raw")
    hot_reload = HotReload(served, actuator, serves="inference" in cfg.roles,
                           experiments=cfg.monitor.experiments)

    @app.agent(app.topic(topics.model_updates, value_serializer="raw"))
    async def model_updates(stream: Any) -> None:
        async for raw in stream:
            for ticket in await hot_reload.take(raw):
                await alerts_topic.send(key=ticket.fingerprint.encode(), value=encode(ticket))

    return app


def _faust_app(cfg: WorkerConfig) -> faust.App:
    """The faust app: its group, its state folder, and the broker's timeouts."""
    kafka = cfg.kafka
    cfg.datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        f"{kafka.topic_prefix}worker", **kafka_clients.faust_options(kafka),
        value_serializer="raw", key_serializer="raw", web_enabled=False,
        datadir=str(cfg.datadir),
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=max(kafka.session_timeout_ms / 4000, 0.5),
        consumer_auto_offset_reset="earliest", stream_wait_empty=False)


def _open_web_port(app: faust.App, cfg: WorkerConfig, shared: _Shared) -> None:
    """Serve /metrics, /livez and /readyz, live while the app's event loop answers."""
    web = WebPort(metrics=shared.metrics, readiness=shared.readiness,
                  live_timeout_s=cfg.web.live_timeout_s)
    port = web.start(cfg.web.host, cfg.alerting.metrics_port)
    log.info("web port on http://%s:%d: /metrics, /livez, /readyz", cfg.web.host, port)

    @app.task
    async def answer_liveness() -> None:
        web.watch(asyncio.get_running_loop())


def _loops(cfg: WorkerConfig, shared: _Shared) -> dict[str, Runner]:
    """The loop of each of ``cfg.roles`` (route has none without an alert sink)."""
    built = {role: build(cfg, shared) for role, build in _ROLE_LOOPS.items() if role in cfg.roles}
    return {role: run for role, run in built.items() if run is not None}


def _owner(loop: TransactionalLoop, assigned: set[TopicPartition], topic: str
           ) -> tuple[list[int], int, Callable[[str], bool]]:
    """After an assignment: the partitions of ``topic`` this worker now reads, how many
    ``topic`` has, and whether a record keyed by a name (a model, a request id) lands in
    one of them, by Kafka's default partitioner."""
    owned = sorted(tp.partition for tp in assigned if tp.topic == topic)
    count = loop.partition_count(topic)
    return owned, count, lambda name: partition_of(name.encode(), count) in owned


def _inference_loop(cfg: WorkerConfig, shared: _Shared) -> Runner:
    inference, topics = cfg.inference, shared.topics
    stage = InferenceStage(
        topics=topics, predictors=shared.served.predictor,
        router=VariantRouter(inference.split, salt=inference.experiment),
        routers=shared.actuator.router,
        shadows=ServedShadows(shared.served, inference.shadow_share),
        max_batch=inference.max_batch, max_wait_ms=inference.max_wait_ms,
        max_record_bytes=cfg.kafka.max_record_bytes, meter=cost_meter(inference))
    return TransactionalLoop(
        name="inference", settings=cfg.kafka, topics=[topics.requests], stage=stage,
        metrics=shared.metrics, progress=shared.readiness.loop("inference")).run


def _monitor_loop(cfg: WorkerConfig, shared: _Shared) -> Runner:
    stage = stages.monitor_stage(cfg, shared.topics, shared.references, time.time)
    return TransactionalLoop(
        name="monitor", settings=cfg.kafka, topics=[shared.topics.predictions], stage=stage,
        metrics=shared.metrics, max_records=2000, progress=shared.readiness.loop("monitor")).run


def _join_loop(cfg: WorkerConfig, shared: _Shared) -> Runner:
    kafka, topics = cfg.kafka, shared.topics
    stage = stages.join_stage(cfg, topics, time.time)

    async def hold_waiting(assigned: set[TopicPartition]) -> None:
        """Hold what waits to be joined in the partitions this worker now reads."""
        owned, count, owns = _owner(loop, assigned, topics.predictions)
        if count != topics.partitions("join-state"):
            raise ConfigError(
                f"{topics.predictions} has {count} partitions and {topics.join_state} "
                f"{topics.partitions('join-state')}: the join's state must be "
                "co-partitioned with what it joins; give both the same count")
        saved = await read_latest(kafka, topics.join_state,
                                  topics.partitions("join-state"), only=owned)
        restored = stage.adopt(saved, owns=owns)
        log.info("join owns predictions partitions %s: %d waiting restored", owned, restored)

    loop = TransactionalLoop(
        name="join", settings=kafka,
        topics=[topics.predictions, topics.outcomes, topics.shadow_predictions],
        stage=stage, metrics=shared.metrics, max_records=2000, on_assigned=hold_waiting,
        progress=shared.readiness.loop("join"))
    return loop.run


def _decide_loop(cfg: WorkerConfig, shared: _Shared) -> Runner:
    kafka, topics = cfg.kafka, shared.topics
    stage = stages.decision_stage(
        cfg, topics, shared.references, time.time,
        started=StartedExperiments(shared.served.store),
        on_budget=lambda model, variant, slo, left:
        shared.metrics.slo_budget_remaining.labels(model, variant, slo).set(left))

    async def hand_over(assigned: set[TopicPartition]) -> None:
        """Hold the state of the models whose summaries this worker now reads."""
        owned, _, owns = _owner(loop, assigned, topics.summaries)
        saved = await read_latest(kafka, topics.decision_state,
                                  topics.partitions("decision-state"))
        restored = stage.adopt(saved, owns=owns)
        log.info("decide owns summaries partitions %s: models %s%s", owned, stage.models,
                 f"; decision state restored for {restored}" if restored else "")

    loop = TransactionalLoop(name="decide", settings=kafka,
                             topics=[topics.summaries, topics.shadow_pairs],
                             stage=stage, max_records=500, metrics=shared.metrics,
                             on_assigned=hand_over, progress=shared.readiness.loop("decide"))
    return loop.run


def _sink_loop(cfg: WorkerConfig, shared: _Shared) -> Runner:
    progress = shared.readiness.loop("sink")  # registered now: not ready before it starts

    async def run(stop: asyncio.Event) -> None:
        store = await asyncio.to_thread(ClickHouseStore.open, cfg.clickhouse)
        try:
            await asyncio.to_thread(store.warm_insert)  # before the sink takes partitions
            await SinkLoop(kafka=cfg.kafka, clickhouse=cfg.clickhouse, store=store,
                           metrics=shared.metrics, progress=progress).run(stop)
        finally:
            store.close()
    return run


def _route_loop(cfg: WorkerConfig, shared: _Shared) -> Runner | None:
    if not cfg.alerting.any_sink:
        log.info("no alert sink configured (INFERWATCH_ALERTING_*): alerts are logged only")
        return None
    return AlertRouter(kafka=cfg.kafka, settings=cfg.alerting, metrics=shared.metrics,
                       progress=shared.readiness.loop("route")).run


#: each role's loop, built in this order
_ROLE_LOOPS: dict[str, Callable[[WorkerConfig, _Shared], Runner | None]] = {
    "inference": _inference_loop, "monitor": _monitor_loop, "join": _join_loop,
    "decide": _decide_loop, "sink": _sink_loop,
    "health": lambda cfg, _: HealthLoop(kafka=cfg.kafka, settings=cfg.health,
                                        dashboard_url=cfg.monitor.dashboard_url).run,
    "retrain": lambda cfg, _: retrain_runner(cfg), "route": _route_loop}
