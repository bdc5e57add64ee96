"""The replay: recorded traffic through the worker's own stages, on the records' event time.

The monitor stage summarises each partition's predictions, the outcome join counts the
labelled errors, and the decision step merges the summaries into windows, judges them and
keeps the alert book: the very objects the worker runs, built by
:mod:`streams.decision.stages` from the same settings. Here they are handed an
:class:`EventClock` (the time of the last record read) instead of the wall clock, and
their records come from a :class:`~streams.backtest.traffic.RecordedTraffic` instead of
Kafka. The alerts they decide go through the router's
:class:`~detectors.incidents.IncidentTracker` (grouping, group wait, cooldown, inhibition)
on the same clock. Their outputs are collected, never sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec

from detectors.incidents import IncidentTracker
from detectors.notification import Notification
from inference.registry import ModelStore
from inference.served_versions import ServedVersions
from streams.alerting.router import signal_of
from streams.backtest.traffic import RecordedTraffic
from streams.decision import stages
from streams.decision.stage import DecisionStage
from streams.kafka.stage import Output
from streams.monitoring.join_stage import JoinStage
from streams.monitoring.monitor_stage import MonitorStage
from streams.serving.references import References
from streams.settings import WorkerConfig
from streams.wire.codec import BatchDecoder, SourceRecord
from streams.wire.events import Alert, DetectorReport, Outcome, Prediction
from streams.wire.topics import Topics

#: records per replayed batch: what the worker's monitor and join loops take per poll
BATCH_RECORDS = 2000


class EventClock:
    """A clock that reads the replayed records' event time; it never runs backwards.

    >>> clock = EventClock()
    >>> clock.advance(5.0); clock.advance(3.0); clock()
    5.0
    """

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, ts: float) -> None:
        """Read the time ``ts`` (a record's); an earlier time leaves the clock as it is."""
        if ts > self.now:
            self.now = ts


@dataclass
class Replayed:
    """What a replay decided: every alert event, the notifications the router would have
    sent, and how much it read."""

    alerts: list[Alert] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    predictions: int = 0
    records: int = 0
    #: the longest span of event time one judged window covered (the time a window takes)
    window_span_s: float = 0.0
    #: the detectors the decision step judges with (alerts of others cannot be replayed)
    detectors: frozenset[str] = frozenset()
    seconds: float = 0.0


class Replay:
    """One replay of recorded traffic under one worker configuration.

    Parameters
    ----------
    cfg
        The worker's settings (windows, thresholds, alert grouping) to replay with.
    references
        The reference profiles the models are compared against.
    """

    def __init__(self, cfg: WorkerConfig, references: stages.ReferenceSource) -> None:
        self.cfg = cfg
        self.clock = EventClock()
        self.references = references
        self.out = Replayed()

    def run(self, traffic: RecordedTraffic) -> Replayed:
        """Replay ``traffic`` from its first record to its last; the decisions it gives."""
        started = time.perf_counter()
        topics, cfg = traffic.topics, self.cfg
        path = _Path(
            topics, BatchDecoder(Prediction, max_record_bytes=cfg.kafka.max_record_bytes),
            BatchDecoder(Outcome, max_record_bytes=cfg.kafka.max_record_bytes),
            stages.monitor_stage(cfg, topics, self.references, self.clock),
            stages.join_stage(cfg, topics, self.clock),
            stages.decision_stage(cfg, topics, self.references, self.clock),
            IncidentTracker(clock=self.clock, resolve_after_evaluations=1,
                            cooldown_s=cfg.alerting.cooldown_s,
                            group_wait_s=cfg.alerting.group_wait_s))
        self.out.detectors = frozenset(j.detector for j in path.decide.judges)
        span = cfg.monitor.summary_interval_s / 4  # time-based flushes land this close
        for ts, batch in traffic.batches(max_records=BATCH_RECORDS, max_span_s=span):
            self.clock.advance(ts)
            predictions = path.predictions.decode(
                [r for r in batch if r.topic == topics.predictions])
            outcomes = path.outcomes.decode([r for r in batch if r.topic != topics.predictions])
            self.out.predictions += len(predictions.events)
            self.out.records += len(batch)
            # each record decoded once for both stages (live, each loop decodes its own)
            if predictions.events or predictions.rejected:
                path.monitor.take(predictions)
            path.join.take(predictions, outcomes)
            self._step(path, force=False)
        self._step(path, force=True)
        self.out.seconds = time.perf_counter() - started
        return self.out

    def _step(self, path: _Path, *, force: bool) -> None:
        """Carry the summaries due to the decision step, and its alerts to the tracker."""
        due = (path.monitor.flush(force=force) or []) + (path.join.flush(force=force) or [])
        name = path.topics.summaries
        summaries = [SourceRecord(o.topic, 0, i, o.key, o.value)
                     for i, o in enumerate(due) if o.topic == name]
        if summaries:
            path.decide.add(summaries)
        self._take(path, path.decide.flush(force=force) or [])
        self.out.notifications.extend(path.tracker.tick())

    def _take(self, path: _Path, outputs: list[Output]) -> None:
        """Keep the decision step's alerts (routed as the router would) and window spans."""
        alerts, reports = path.topics.alerts, path.topics.reports
        for o in outputs:
            if o.value is None:
                continue
            if o.topic == alerts:
                alert = msgspec.json.decode(o.value, type=Alert)
                self.out.alerts.append(alert)
                self.out.notifications.extend(path.tracker.observe(signal_of(alert)))
            elif o.topic == reports:
                report = msgspec.json.decode(o.value, type=DetectorReport)
                if report.n:
                    self.out.window_span_s = max(self.out.window_span_s,
                                                 report.window_end - report.window_start)


@dataclass(frozen=True)
class _Path:
    """The stages of one replay, and the router's incident tracker."""

    topics: Topics
    predictions: BatchDecoder[Prediction]
    outcomes: BatchDecoder[Outcome]
    monitor: MonitorStage
    join: JoinStage
    decide: DecisionStage
    tracker: IncidentTracker


def model_references(cfg: WorkerConfig) -> References:
    """The references the worker with ``cfg`` compares against: those of the versions its
    model store serves (an outside model's from ``<model_dir>/<model>/``)."""
    inference = cfg.inference
    return References(ServedVersions(ModelStore(inference.model_dir), "cpu", inference.binding))
