"""The retrain worker: retrain requests in; validated versions and alias moves out.

It reads the ``retrain`` topic in its own consumer group, one request at a time, and
commits a request's offset only after its version is published and its events are on
``model-updates``. Each request is done once: the job finds the version a request
already published by its id (derived from the evidence) and trains nothing again, so a
replay, or a retry after a ``kill -9`` mid-training, gives one version.

For a request it reads the model's labelled examples from the request's ``data_from``
(less ``INFERWATCH_RETRAIN_LOOKBACK_S``) to now, waiting up to ``LABEL_WAIT_S`` for
``MIN_EXAMPLES`` of them (labels come late), then runs the
:class:`~retrain.retrain_job.RetrainJob` in a thread (progress in the log, and on a
terminal) and publishes a ``published`` event for the version and, when validation
passed, a ``promoted`` event for the alias it moved; a challenger (its model has an
experiment) then gets an experiment of its own, announced by an ``ExperimentStarted``
(:func:`streams.experiments.start.start_for_challenger`). Too few examples: nothing is
trained, and the request waits to be asked again once the labels exist. A request
whose retrain publishes nothing (too few examples, a trainer that raised or ran past its
deadline, a candidate that failed the checks) gives one ``RetrainDecided`` (``failed``,
the reason) and one ticket, and the champion is untouched
(:mod:`streams.retraining.failed_retrains`); a later retrain that passes validation
resolves the ticket. An undecodable request, or one that cannot be served as it stands (no
champion, examples that do not fit), goes to the dead-letter topic with the reason; any
other failure stops the worker, and the request is retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

from aiokafka import AIOKafkaProducer, TopicPartition

from inference.registry import ModelStore
from retrain.examples import LabelledExamples
from retrain.failure_ledger import FailureLedger
from retrain.label_retry import LabelRetry, NotEnoughLabels, Waiting
from retrain.retrain_job import CHALLENGER, RetrainJob, RetrainResult
from retrain.trainer_contract import TrainingFailed
from streams.experiments.spec import ExperimentSpec
from streams.experiments.start import start_for_challenger
from streams.kafka import clients as kafka_clients
from streams.retraining.failed_retrains import FailedRetrains
from streams.retraining.labelled_examples import ExampleSource
from streams.settings import KafkaSettings, RetrainSettings
from streams.telemetry.progress import ProgressBar
from streams.wire.codec import BatchDecoder, RawRecord, Rejected, encode
from streams.wire.dead_letter import dead_letter
from streams.wire.events import (
    ExperimentStarted,
    ModelVersionPublished,
    RetrainRequested,
    ValidationCheck,
)
from streams.wire.topics import Topics

log = logging.getLogger(__name__)

__all__ = ["RetrainWorker", "version_events"]


def version_events(result: RetrainResult, artifact: str, now: float
                   ) -> list[ModelVersionPublished]:
    """The model-updates events of a retrain: its version, then its alias move if any."""
    r = result.record
    published = ModelVersionPublished(
        model=result.model, version=result.version, artifact=artifact, ts=now,
        retrain_id=result.retrain_id, parent=result.parent, content_hash=r["content_hash"],
        device=r["device"], data_from=r["data_from"], data_to=r["data_to"],
        passed=result.passed, reason=r["reason"],
        metrics={k: float(r[k]) for k in ("champion_accuracy", "candidate_accuracy",
                                          "n_train", "n_holdout", "train_s")},
        checks=[ValidationCheck(check=c, value=v, threshold=t, passed=p)
                for c, v, t, p in r["checks"]])
    if result.alias is None:
        return [published]
    moved = ModelVersionPublished(
        model=result.model, version=result.version, artifact=artifact, ts=now,
        action="promoted", retrain_id=result.retrain_id, parent=result.parent,
        alias=result.alias, previous=result.parent, passed=True, reason=r["reason"])
    return [published, moved]


class RetrainWorker:
    """Consume retrain requests, run each once, publish what it made."""

    def __init__(self, *, kafka: KafkaSettings, settings: RetrainSettings, store: ModelStore,
                 job: RetrainJob, examples: ExampleSource,
                 experiments: Callable[[str], ExperimentSpec | None] = lambda model: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.kafka = kafka
        self.settings = settings
        self.store = store
        self.job = job
        self.examples = examples
        #: a model's experiment (the template of its challengers'), None if it has none
        self.experiments = experiments
        self.clock = clock
        self.topics = Topics(kafka.topic_prefix)
        self._decoder = BatchDecoder(RetrainRequested, max_record_bytes=kafka.max_record_bytes)
        self.done: list[RetrainResult] = []
        retry = LabelRetry(settings.min_examples, first_check_s=settings.retry_first_check_s,
                           max_retries=settings.retry_max, give_up_s=settings.retry_give_up_s)
        self.failures = FailedRetrains(
            self.topics, FailureLedger(store.root / FailureLedger.FILE, retry), clock)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = kafka_clients.consumer(self.kafka, f"{self.kafka.topic_prefix}retrain-worker",
                                          self.topics.retrain)
        producer = kafka_clients.producer(self.kafka)
        await producer.start()
        await consumer.start()
        log.info("retrain worker reading %s", self.topics.retrain)
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=1)
                for tp, msgs in batches.items():
                    for m in msgs:
                        await self._handle(m, producer)
                        await consumer.commit({TopicPartition(tp.topic, tp.partition):
                                               m.offset + 1})
                await self.failures.ask_again(producer, self._count_labels)
        finally:
            await consumer.stop()
            await producer.stop()

    async def _handle(self, record: RawRecord, producer: AIOKafkaProducer) -> None:
        decoded = self._decoder.decode([record])
        for rej in decoded.rejected:
            dl = dead_letter(rej)
            await producer.send_and_wait(self.topics.dead_letter, dl.value, key=dl.key,
                                         headers=dl.headers)
            log.error("retrain request dead-lettered: %s", rej.reason)
        for req in decoded.events:
            try:
                result = await self.handle(req)
            except TrainingFailed as exc:
                await self.failures.failed(producer, req, exc.reason,
                                           waits_for_labels=isinstance(exc, NotEnoughLabels))
                continue
            except (ValueError, FileNotFoundError) as exc:
                # the request cannot be served as it stands (no champion to start from, an
                # artifact or examples that do not fit): retrying would fail alike, so it
                # goes to the dead letters with the reason; other errors stop the worker
                # and the request is retried
                log.error("retrain %s of %s failed: %s", req.id, req.model, exc)
                dl = dead_letter(Rejected(record, "retrain_failed", f"{type(exc).__name__}: {exc}"))
                await producer.send_and_wait(self.topics.dead_letter, dl.value, key=dl.key,
                                             headers=dl.headers)
                continue
            artifact = str(self.store.path_for(result.model, result.version) / "model.pt")
            events: list[ModelVersionPublished | ExperimentStarted] = []
            events += version_events(result, artifact, self.clock())
            started = await asyncio.to_thread(self._experiment, result)
            if started is not None:
                events.append(started)
            for event in events:
                await producer.send_and_wait(self.topics.model_updates, encode(event),
                                             key=result.model.encode())
            await self.failures.trained(producer, result)

    def _experiment(self, result: RetrainResult) -> ExperimentStarted | None:
        """The experiment that judges a new challenger (started once), if it has one."""
        template = self.experiments(result.model)
        if result.alias != CHALLENGER or template is None:
            return None
        started = start_for_challenger(self.store, template, result.version, self.clock())
        if started is not None:
            log.info("retrain %s: experiment %s judges %s %s (%s) against %s", result.retrain_id,
                     started.experiment, result.model, started.challenger, result.version,
                     started.champion)
        return started

    async def handle(self, req: RetrainRequested) -> RetrainResult:
        """Run one request (or find it done); TrainingFailed when it published nothing
        (NotEnoughLabels when too few labelled examples came within the wait)."""
        resumed = await asyncio.to_thread(self.job.resume, req.model, req.id)
        if resumed is not None:
            log.info("retrain %s of %s: done before as %s", req.id, req.model, resumed.version)
            self.done.append(resumed)
            return resumed
        examples = await self._examples(req)
        bar = ProgressBar(self.settings.max_epochs, f"retrain {req.model}", unit=" epochs")
        started = time.monotonic()

        def on_epoch(epoch: int) -> None:
            bar.update(epoch)
            log.info("retrain %s: %s", req.id, bar.line(epoch, time.monotonic() - started))

        try:
            result = await asyncio.to_thread(
                self.job.run, req.id, req.model, examples,
                data_range=(float(examples.ts.min()), float(examples.ts.max())),
                on_epoch=on_epoch)
        finally:
            bar.close()
        log.info("retrain %s of %s: version %s from %s, %s", req.id, req.model, result.version,
                 result.parent, result.record["reason"])
        self.done.append(result)
        return result

    async def _examples(self, req: RetrainRequested) -> LabelledExamples:
        """The request's labelled examples, once ``min_examples`` of them exist; waits up
        to ``label_wait_s`` for them, then raises NotEnoughLabels."""
        s = self.settings
        deadline = time.monotonic() + s.label_wait_s
        while True:
            examples = await self._labelled(req.model, req.data_from)
            if len(examples) >= s.min_examples:
                return examples
            if time.monotonic() >= deadline:
                raise NotEnoughLabels(len(examples), s.min_examples, s.label_wait_s)
            log.info("retrain %s: %d of %d labelled examples so far; waiting", req.id,
                     len(examples), s.min_examples)
            await asyncio.sleep(2.0)

    async def _labelled(self, model: str, data_from: float) -> LabelledExamples:
        """The model's labelled examples from ``data_from`` (less the lookback) to now."""
        names, kind = await asyncio.to_thread(self._feature_names, model)
        rows = await self.examples(model, data_from - self.settings.lookback_s, self.clock())
        return LabelledExamples.from_rows(rows, names, kind)

    async def _count_labels(self, waiting: Waiting) -> int:
        return len(await self._labelled(waiting.model, waiting.data_from))

    def _feature_names(self, model: str) -> tuple[tuple[str, ...], Literal["label", "value"]]:
        """The champion's numeric inputs, and what its examples' targets are: a
        regression's true values, or class labels."""
        champion = self.store.load_predictor(model, self.job.champion(model), device="cpu")
        spec = getattr(champion, "spec", None)
        regression = spec is not None and spec.task == "regression"
        return champion.features, "value" if regression else "label"
