"""The worker: a faust app hosting the batch loops and the low-rate agents.

High-rate paths (requests → predictions, predictions → summaries, everything → the
sink) are :class:`~streams.batch_loop.TransactionalLoop` and
:class:`~streams.sink_loop.SinkLoop` instances run as services of the app; faust agents
serve the low-rate topics (alerts, model updates). A loop that fails crashes the worker
loudly rather than leaving it half alive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import faust
import mode
import numpy as np
from aiokafka import TopicPartition

from detectors.embedding_drift import project
from inference.registry import ModelStore
from inference.routing import VariantRouter
from retrain import embedding_reference
from retrain.reference import OUTPUT_REFERENCE, ReferenceProfile
from streams.alert_log import format_alert
from streams.alert_router import AlertRouter
from streams.batch_loop import TransactionalLoop
from streams.clickhouse_store import ClickHouseStore
from streams.decision_stage import DecisionStage
from streams.errors import ConfigError
from streams.events import Alert, ModelVersionPublished
from streams.inference_stage import InferenceStage
from streams.join_stage import JoinStage
from streams.monitor_stage import MonitorStage
from streams.ops_metrics import OpsMetrics, serve_metrics
from streams.record_writer import partition_of
from streams.settings import (
    AlertingSettings,
    ClickHouseSettings,
    InferenceSettings,
    KafkaSettings,
    MonitorSettings,
)
from streams.sink_loop import SinkLoop
from streams.state_topic import read_latest
from streams.topics import Topics

log = logging.getLogger(__name__)
ROLES = ("inference", "monitor", "join", "decide", "sink", "route")


@dataclass
class WorkerConfig:
    """Everything a worker needs, validated at start."""

    kafka: KafkaSettings
    inference: InferenceSettings
    monitor: MonitorSettings
    clickhouse: ClickHouseSettings
    alerting: AlertingSettings = field(default_factory=lambda: AlertingSettings())
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


class ModelCatalog:
    """Predictors and reference profiles from the model store, reloaded on updates."""

    def __init__(self, store: ModelStore, device: str | None) -> None:
        self.store = store
        self.device = device
        self._predictors: dict[str, Any] = {}
        self.reference = lru_cache(maxsize=256)(self._load_reference)
        self.output_reference = lru_cache(maxsize=256)(self._load_output_reference)
        self.embedding_reference = lru_cache(maxsize=256)(self._load_embedding_reference)

    def check_embedding_references(self) -> list[str]:
        """Load (and cache) every embedding reference file now; ConfigError on a bad one.

        Returns the models that have one.
        """
        root = self.store.root
        files = sorted(root.glob(f"*/{embedding_reference.FILE_NAME}")) if root.is_dir() else []
        for path in files:
            try:
                self.embedding_reference(path.parent.name)
            except ValueError as exc:
                raise ConfigError(f"embedding reference: {exc}") from None
        return [path.parent.name for path in files]

    def warm_up(self) -> None:
        """Load every published model now, so the first requests do not wait for it."""
        root = self.store.root
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.is_dir() and not folder.name.startswith("."):
                self.predictor(folder.name, "")

    def predictor(self, model: str, variant: str) -> Any:
        if model not in self._predictors:
            if self.store.latest(model) is None:
                return None
            self._predictors[model] = self.store.load_predictor(model, device=self.device)
            log.info("serving %r", self._predictors[model])
        return self._predictors[model]

    def _load_reference(self, model: str) -> ReferenceProfile | None:
        return self._profile(model, "reference.json")

    def _load_output_reference(self, model: str) -> ReferenceProfile | None:
        return self._profile(model, OUTPUT_REFERENCE)

    def _load_embedding_reference(self, model: str) -> np.ndarray | None:
        """The model's reference file's embeddings, projected as the monitors project."""
        path = self.store.root / model / embedding_reference.FILE_NAME
        return project(embedding_reference.load(path)) if path.exists() else None

    def _profile(self, model: str, name: str) -> ReferenceProfile | None:
        version = self.store.latest(model)
        if version is None:
            return None
        path = self.store.path_for(model, version) / name
        return ReferenceProfile.load(path) if path.exists() else None

    def invalidate(self, model: str) -> None:
        self._predictors.pop(model, None)
        self.reference.cache_clear()
        self.output_reference.cache_clear()
        self.embedding_reference.cache_clear()


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
        f"{kafka.topic_prefix}worker", broker=f"kafka://{kafka.bootstrap}",
        value_serializer="raw", key_serializer="raw", web_enabled=False,
        datadir=str(cfg.datadir), topic_replication_factor=kafka.replication_factor,
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=max(kafka.session_timeout_ms / 4000, 0.5),
        consumer_auto_offset_reset="earliest", stream_wait_empty=False)
    catalog = ModelCatalog(ModelStore(cfg.inference.model_dir), cfg.inference.device)
    if "inference" in cfg.roles:
        catalog.warm_up()
    if "decide" in cfg.roles:
        given = catalog.check_embedding_references()
        if given:
            log.info("embedding references from files for %s", given)
    metrics = OpsMetrics()
    if cfg.alerting.metrics_port:
        serve_metrics(metrics, cfg.alerting.metrics_port)
        log.info("metrics on http://127.0.0.1:%d/metrics", cfg.alerting.metrics_port)
    for name, run in _loops(cfg, topics, catalog, metrics).items():
        app.add_dependency(LoopService(name, run, loop=app.loop))

    @app.agent(app.topic(topics.alerts, value_serializer="raw"))
    async def print_alerts(stream: Any) -> None:
        async for raw in stream:
            log.warning("%s", format_alert(_decode_alert(raw)))

    @app.agent(app.topic(topics.model_updates, value_serializer="raw"))
    async def model_updates(stream: Any) -> None:
        async for raw in stream:
            update = _decode_update(raw)
            if update is not None:
                log.info("model %s %s %s", update.model, update.version, update.action)
                catalog.invalidate(update.model)

    return app


def _loops(cfg: WorkerConfig, topics: Topics, catalog: ModelCatalog, metrics: OpsMetrics
           ) -> dict[str, Callable[[asyncio.Event], Awaitable[None]]]:
    kafka = cfg.kafka
    loops: dict[str, Callable[[asyncio.Event], Awaitable[None]]] = {}
    if "inference" in cfg.roles:
        stage = InferenceStage(
            topics=topics, predictors=catalog.predictor,
            router=VariantRouter(cfg.inference.split), max_batch=cfg.inference.max_batch,
            max_wait_ms=cfg.inference.max_wait_ms, max_record_bytes=kafka.max_record_bytes)
        loops["inference"] = TransactionalLoop(
            name="inference", settings=kafka, topics=[topics.requests], stage=stage,
            metrics=metrics).run
    if "monitor" in cfg.roles:
        mstage = MonitorStage(
            topics=topics, references=catalog.reference,
            summary_size=cfg.monitor.summary_size,
            summary_interval_s=cfg.monitor.summary_interval_s,
            max_record_bytes=kafka.max_record_bytes, output_references=catalog.output_reference,
            slo_threshold_s=cfg.monitor.slo_threshold_s,
            embedding_sample=cfg.monitor.embedding_sample)
        loops["monitor"] = TransactionalLoop(
            name="monitor", settings=kafka, topics=[topics.predictions], stage=mstage,
            metrics=metrics, max_records=2000).run
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
            stage=jstage, metrics=metrics, max_records=2000, on_assigned=hold_waiting)
        loops["join"] = jloop.run
    if "decide" in cfg.roles:
        dstage = DecisionStage(topics=topics, references=catalog.reference,
                               settings=cfg.monitor, max_record_bytes=kafka.max_record_bytes,
                               output_references=catalog.output_reference,
                               embedding_references=catalog.embedding_reference,
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
                                  on_assigned=hand_over)
        loops["decide"] = dloop.run
    if "sink" in cfg.roles:
        loops["sink"] = _sink_runner(cfg, metrics)
    if "route" in cfg.roles:
        if cfg.alerting.any_sink:
            loops["route"] = AlertRouter(kafka=kafka, settings=cfg.alerting,
                                         metrics=metrics).run
        else:
            log.info("no alert sink configured (INFERWATCH_ALERTING_*): alerts are logged only")
    return loops


def _sink_runner(cfg: WorkerConfig, metrics: OpsMetrics
                 ) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def run(stop: asyncio.Event) -> None:
        store = await asyncio.to_thread(ClickHouseStore.open, cfg.clickhouse)
        try:
            await SinkLoop(kafka=cfg.kafka, clickhouse=cfg.clickhouse, store=store,
                           metrics=metrics).run(stop)
        finally:
            store.close()
    return run


def _decode_alert(raw: bytes) -> Alert:
    import msgspec
    return msgspec.json.decode(raw, type=Alert)


def _decode_update(raw: bytes) -> ModelVersionPublished | None:
    import msgspec
    try:
        return msgspec.json.decode(raw, type=ModelVersionPublished)
    except msgspec.MsgspecError:
        log.error("undecodable model update skipped: %r", raw[:200])
        return None
