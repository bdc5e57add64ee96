"""The decision step: merged summaries in; reports, alerts and retrain requests out.

Low rate (a few summaries per partition per second). Per (model, variant) it merges
summaries into a :class:`~streams.decision.window.DecisionWindow`; when the window holds
``window_size`` predictions (or is old and big enough) every detector adapter
(:class:`~streams.decision.judge.Judge`) judges it; each verdict becomes a DetectorReport
and, through the model's :class:`~streams.decision.alert_book.AlertBook`, alert events
with one identity per incident; sustained feature drift asks for a retrain.

State is kept per model (:class:`~streams.decision.state.ModelState`), the unit that
moves between workers: summaries are keyed by model, so one decide worker owns all of a
model's summaries. Each model's state changed by a batch is written to the compacted
decision-state topic in the same transaction as the batch's outputs and offsets; a worker
assigned summaries partitions (at start, or on a rebalance) drops the models it no
longer owns and restores the ones it gains (:meth:`DecisionStage.adopt`), so a restart or
a rebalance resumes exactly instead of resetting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Mapping, Sequence

import msgspec
import numpy as np

from streams.decision.category_drift import CategoryDrift
from streams.decision.class_recall import ClassRecall
from streams.decision.concept_drift import ConceptDrift
from streams.decision.config import DecisionConfig
from streams.decision.data_quality import CategoryLookup, DataQuality
from streams.decision.embedding_drift import EmbeddingDrift
from streams.decision.experiment import ExperimentJudge
from streams.decision.feature_drift import FeatureDrift, ImportanceLookup
from streams.decision.judge import Judge, ReferenceLookup
from streams.decision.latency import LatencyQuantile
from streams.decision.performance_estimate import PerformanceEstimate, PerformanceLookup
from streams.decision.prediction_drift import PredictionDrift
from streams.decision.regression_error import ErrorLookup, RegressionError
from streams.decision.shadow_verdict import SHADOW_KEY, ShadowJudge, ShadowPolicy
from streams.decision.slo_burn import BudgetCallback, error_burn, latency_burn
from streams.decision.slo_tracker import SloTracker
from streams.decision.state import REFERENCE_KEY, ModelState, SavedModels
from streams.decision.verdict import Verdict
from streams.decision.window import DecisionWindow
from streams.experiments.spec import StartedLookup, no_started
from streams.kafka.stage import Output, dead_letter_outputs
from streams.wire.codec import BatchDecoder, RawRecord, Rejected, encode
from streams.wire.events import MonitorSummary, RetrainDecided, RetrainRequested, ShadowPairs
from streams.wire.topics import Topics

log = logging.getLogger(__name__)


class DecisionStage:
    """Merge summaries per model, decide per window, and remember across restarts."""

    def __init__(self, *, topics: Topics, config: DecisionConfig, references: ReferenceLookup,
                 max_record_bytes: int, clock: Callable[[], float] = time.time,
                 output_references: ReferenceLookup | None = None,
                 embedding_references: Callable[[str], np.ndarray | None] | None = None,
                 on_budget: BudgetCallback | None = None,
                 started: StartedLookup = no_started,
                 performance_references: PerformanceLookup | None = None,
                 category_references: CategoryLookup | None = None,
                 importance: ImportanceLookup | None = None,
                 error_references: ErrorLookup | None = None,
                 shadow_policy: ShadowPolicy | None = None) -> None:
        self.topics = topics
        self.started = started
        self.config = config
        self.clock = clock
        self._decoder = BatchDecoder(MonitorSummary, max_record_bytes=max_record_bytes)
        self._slo = SloTracker(config, clock)
        self._models: dict[str, ModelState] = {}
        self._changed: set[str] = set()  # models whose state this batch changed
        self._new_references: set[str] = set()  # models whose embedding reference it changed
        self._rejected: list[Rejected] = []
        self._outputs: list[Output] = []
        self.judges: list[Judge] = [
            FeatureDrift(references, config, importance, performance_references),
            CategoryDrift(category_references, config, importance, performance_references),
            DataQuality(references, config, category_references, importance),
            PredictionDrift(output_references, config),
            EmbeddingDrift(config, embedding_references, self._new_references.add),
            ConceptDrift(), latency_burn(self._slo, on_budget), error_burn(self._slo, on_budget),
            LatencyQuantile(config), PerformanceEstimate(performance_references, config),
            RegressionError(error_references), ClassRecall()]
        self.experiments = ExperimentJudge(config, lambda ev: self._emit(
            self.topics.model_updates, ev.model, encode(ev)), started)
        self.judges.append(self.experiments)
        #: the paired verdicts on shadow versions, from the join's counts (shadow-pairs)
        self.shadows = ShadowJudge(shadow_policy, clock)
        self._pairs = BatchDecoder(ShadowPairs, max_record_bytes=max_record_bytes)

    # -- stage protocol ----------------------------------------------------------------
    def add(self, records: Sequence[RawRecord]) -> None:
        pairs = [r for r in records if r.topic == self.topics.shadow_pairs]
        if pairs:
            records = [r for r in records if r.topic != self.topics.shadow_pairs]
            taken = self._pairs.decode(pairs)
            self._rejected.extend(taken.rejected)
            for counts in taken.events:
                self.shadows.take(counts)
        decoded = self._decoder.decode(records)
        self._rejected.extend(decoded.rejected)
        for summary in decoded.events:
            state = self._state(summary.model)
            win = state.windows.get(summary.variant)
            if win is None:
                win = state.windows[summary.variant] = DecisionWindow(
                    summary.model, summary.variant, opened=self.clock(),
                    embedding_cap=self.config.embedding_sample)
            win.merge(summary)
            self._slo.record(summary)
            self.experiments.record(summary, state)
            self._changed.add(summary.model)
            self._close_if_complete(state, win)

    def wait_s(self) -> float | None:
        return None  # decisions happen as summaries arrive; nothing waits on a clock

    def flush(self, *, force: bool) -> list[Output] | None:
        for state in self._models.values():
            for win in list(state.windows.values()):
                self._close_if_complete(state, win)
        outputs = self._outputs + dead_letter_outputs(self.topics.dead_letter, self._rejected)
        looks = self.shadows.look()
        outputs += [Output(self.topics.model_updates, ev.model.encode(), encode(ev))
                    for ev in looks]
        outputs += [Output(self.topics.decision_state, SHADOW_KEY + model.encode(),
                           msgspec.json.encode(self.shadows.record(model)))
                    for model in sorted({ev.model for ev in looks})]
        for model in sorted(self._changed):
            saved = {**self.records(model, self._new_references, slo=False),
                     **self._slo.drain(model)}
            outputs.extend(Output(self.topics.decision_state, key, raw)
                           for key, raw in saved.items())
        self._outputs, self._rejected, self._changed = [], [], set()
        self._new_references.clear()
        return outputs

    # -- state -------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """The models whose state this stage holds."""
        return sorted(self._models)

    def records(self, model: str, references: Container[str] | None = None, *,
                slo: bool = True) -> dict[bytes, bytes]:
        """The decision-state records of a model: its state, its embedding reference (if
        it has one, and if ``references`` is None or holds the model), and (if ``slo``)
        the counts of its SLO burn windows."""
        state = self._state(model)
        out = {model.encode(): msgspec.json.encode(state.snapshot())}
        reference = state.reference_record() if references is None or model in references \
            else None
        if reference is not None:
            out[REFERENCE_KEY + model.encode()] = reference
        if slo:
            out.update(self._slo.records(model))
        return out

    def _restore(self, raw: bytes) -> str:
        """Take over a model's state from its decision-state record; return the model."""
        snap = msgspec.json.decode(raw)
        state = ModelState(snap["model"], self.config, self.started)
        state.restore(snap)
        self._models[state.model] = state
        return state.model

    def adopt(self, saved: Mapping[bytes, bytes], owns: Callable[[str], bool]) -> list[str]:
        """Hold exactly the models this worker ``owns`` after an assignment.

        Models no longer owned are dropped (their new owner restores them); owned models
        not held are restored from ``saved`` (the decision-state topic, keyed as
        :mod:`streams.decision.state` says). Owned models already held are kept as they
        are: they were written out when the partitions were revoked. Returns the models
        restored.
        """
        for model in [m for m in self._models if not owns(m)]:
            del self._models[model]
            self._slo.forget(model)
        self.shadows.hold(saved, owns)
        parts = SavedModels.split(saved)
        restored = []
        for key, raw in parts.states.items():
            model = key.decode("utf-8", "replace")
            if model in self._models or not owns(model):
                continue
            try:
                restored.append(self._restore(raw))
                self._slo.resume(model, parts.slo.get(key, {}))
                if key in parts.references:
                    self._models[model].restore_reference(parts.references[key])
                elif self._models[model].embedding_reference is not None:
                    # a state written with its reference inside: the next flush moves it out
                    self._new_references.add(model)
                    self._changed.add(model)
            except (KeyError, TypeError, ValueError, msgspec.DecodeError) as exc:
                self._models.pop(model, None)
                self._slo.forget(model)
                log.warning("decision state under key %r is not a model's state (%s): "
                            "ignored", key, exc)
        return restored

    def _state(self, model: str) -> ModelState:
        state = self._models.get(model)
        if state is None:
            state = self._models[model] = ModelState(model, self.config, self.started)
        return state

    # -- decisions ---------------------------------------------------------------------
    def _close_if_complete(self, state: ModelState, win: DecisionWindow) -> None:
        """Judge a window that is full (or old and big enough), then forget it."""
        c = self.config
        old = self.clock() - win.opened >= c.window_max_s
        if win.n >= c.window_size or (old and win.n >= c.min_window):
            self._decide(state, win)
            del state.windows[win.variant]
            self._changed.add(state.model)

    def _decide(self, state: ModelState, win: DecisionWindow) -> None:
        now = self.clock()
        state.retrain.observe_labels(win.model, win.labelled)
        for judge in self.judges:
            for verdict in judge.judge(win, state):
                if verdict.report is not None:
                    verdict.report.ts = now
                    self._emit(self.topics.reports, win.model, encode(verdict.report))
                if verdict.bad is None:
                    continue
                alert = state.alerts.observe(
                    win.model, verdict.variant or win.variant, verdict, now=now,
                    describe=judge.describe,
                    dashboard=self.config.dashboard_url,
                    # burn-rate windows and experiment decisions are their own hysteresis
                    hysteresis=not judge.detector.startswith(("slo_", "experiment")))
                if alert is not None:
                    self._emit(self.topics.alerts, alert.fingerprint, encode(alert))
                if judge.detector in (FeatureDrift.detector, CategoryDrift.detector,
                                      PerformanceEstimate.detector):
                    self._consider_retrain(state, win, verdict, now)

    def _consider_retrain(self, state: ModelState, win: DecisionWindow, verdict: Verdict,
                          now: float) -> None:
        """One retrain request per sustained feature-drift incident (with a cooldown)."""
        rule = state.alerts.state(win.variant, verdict.detector, verdict.severity)
        if not rule.firing:
            return
        evidence = ("estimated accuracy drop" if verdict.detector == PerformanceEstimate.detector
                    else "input drift")
        verdict_of_policy = state.retrain.decide(win.model, rule.bad_streak,
                                                 incident_start=rule.starts_at, now=now,
                                                 evidence=evidence)
        if verdict_of_policy is None:
            return
        if state.retrain.worth_telling(verdict_of_policy, rule.starts_at):
            request = verdict_of_policy.request
            told = RetrainDecided(model=win.model, status=verdict_of_policy.status,
                                  reason=verdict_of_policy.reason, incident_start=rule.starts_at,
                                  ts=now, retrain_id="" if request is None else request.id)
            self._emit(self.topics.retrain_decisions, win.model, encode(told))
        decision = verdict_of_policy.request
        if decision is not None:
            req = RetrainRequested(
                id=decision.id, model=win.model, reason=decision.reason,
                evidence=verdict.evidence, data_from=win.window_start,
                data_to=win.window_end, requested_at=now)
            self._emit(self.topics.retrain, win.model, encode(req))

    def _emit(self, topic: str, key: str, value: bytes) -> None:
        self._outputs.append(Output(topic, key.encode(), value))
