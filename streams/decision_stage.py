"""The decision step: merged summaries in; reports, alerts and retrain requests out.

Low rate (a few summaries per partition per second). Per (model, variant) it merges
summaries into a :class:`~streams.decision_window.DecisionWindow`; when the window holds
``window_size`` predictions (or is old and big enough) it runs the detectors, emits a
DetectorReport per detector, turns verdicts into alert transitions with hysteresis, and
asks for a retrain on sustained drift.

State is kept per model (:class:`ModelState`), the unit that moves between workers:
summaries are keyed by model, so one decide worker owns all of a model's summaries.
Each model's state changed by a batch is written to the compacted decision-state topic,
keyed by model, in the same transaction as the batch's outputs and offsets (a learnt
embedding reference, the bulk of a model's state and constant once learnt, goes under a
key of its own, written only by the batches that change it, and so do the SLO burn counts
of each hour, see :mod:`streams.slo_tracker`); a worker
that is assigned summaries partitions (at start, or on a rebalance) drops the models it
no longer owns and restores the ones it gains (:meth:`DecisionStage.adopt`), so a
restart or a rebalance resumes exactly instead of resetting.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

import msgspec
import numpy as np

from detectors.alert_rule import AlertRule, Transition
from detectors.burn_rate import BurnRateAlert
from detectors.embedding_drift import embedding_shift, farthest
from detectors.error_rate import ErrorRateShift
from detectors.feature_drift import SegmentShift, segmented_drift
from detectors.fingerprint import fingerprint
from detectors.latency import LatencyVerdict, QuantileThreshold
from retrain.policy import RetrainPolicy
from streams.batch_loop import Output, dead_letter_outputs
from streams.codec import BatchDecoder, RawRecord, Rejected, encode
from streams.data_quality_judge import DATA_QUALITY, describe, judge_quality
from streams.decision_window import GLOBAL, DecisionWindow, pack_rows, unpack_packed
from streams.events import Alert, DetectorReport, MonitorSummary, RetrainRequested
from streams.monitor_stage import ReferenceLookup
from streams.settings import MonitorSettings
from streams.slo_tracker import ERROR_BURN, SLO_BURN, SLO_KEY, SloTracker, burn_evidence
from streams.topics import Topics

CONCEPT = "concept_drift"
DRIFT = "feature_drift"
PREDICTION_DRIFT = "prediction_drift"
LATENCY = "latency_quantile"
EMBEDDING = "embedding_drift"
#: fewest embeddings in a window that sets a reference or is tested
MIN_EMBEDDINGS = 32
#: request ids of a drifted window's most unusual inputs named in its evidence
EXAMPLES = 3
#: decision-state key prefix of a model's embedding reference (the rest is the model): kept
#: apart from the model's state, which changes every window, so that it is written only
#: when it changes (its first windows) instead of in every state record
REFERENCE_KEY = b"\x00embedding-reference\x00"

log = logging.getLogger(__name__)


class ModelState:
    """What the decision step remembers of one model, snapshot and restored as one."""

    def __init__(self, model: str, settings: MonitorSettings) -> None:
        self.model = model
        self.settings = settings
        self.rule = AlertRule(settings.fire_after, settings.resolve_after)
        self.retrain = RetrainPolicy(settings.retrain_after, settings.retrain_cooldown_s)
        # burn rates carry their own hysteresis (the short window): fire and resolve at once
        self.slo_rule = AlertRule(fire_after=1, resolve_after=1)
        self.concept: dict[str, ErrorRateShift] = {}  # by variant
        self.windows: dict[str, DecisionWindow] = {}  # the open window of each variant
        # the input embeddings (projected) of the model's first windows: what later windows
        # are tested against, for models fed by text or prompts rather than features
        self.embedding_reference: np.ndarray | None = None

    def concept_detector(self, variant: str) -> ErrorRateShift:
        det = self.concept.get(variant)
        if det is None:
            s = self.settings
            det = self.concept[variant] = ErrorRateShift(
                s.concept_baseline_labelled, s.concept_alpha, s.concept_min_increase)
        return det

    def snapshot(self) -> bytes:
        return msgspec.json.encode({
            "model": self.model, "rule": self.rule.snapshot(),
            "retrain": self.retrain.snapshot(), "slo_rule": self.slo_rule.snapshot(),
            "concept": {v: d.snapshot() for v, d in self.concept.items()},
            "windows": [w.snapshot() for w in self.windows.values()],
        })

    def reference_record(self) -> bytes | None:
        """The embedding reference, as the decision-state topic keeps it apart."""
        if self.embedding_reference is None:
            return None
        return msgspec.json.encode({"model": self.model,
                                    "embedding_reference": pack_rows(self.embedding_reference)})

    @classmethod
    def restore(cls, raw: bytes, settings: MonitorSettings) -> ModelState:
        """The state a snapshot holds; KeyError or msgspec.DecodeError if it holds none."""
        snap: dict[str, Any] = msgspec.json.decode(raw)
        state = cls(snap["model"], settings)
        state.rule.restore(snap["rule"])
        state.retrain.restore(snap["retrain"])
        state.slo_rule.restore(snap["slo_rule"])
        for variant, det in snap["concept"].items():
            state.concept_detector(variant).restore(det)
        for w in snap["windows"]:
            win = DecisionWindow.restore(w)
            state.windows[win.variant] = win
        if snap.get("embedding_reference"):  # written inside the state before it had a key
            state.embedding_reference = unpack_packed(snap["embedding_reference"])
        return state

    def restore_reference(self, raw: bytes) -> None:
        """Take the embedding reference of a :meth:`reference_record`."""
        self.embedding_reference = unpack_packed(msgspec.json.decode(raw)["embedding_reference"])


class DecisionStage:
    """Merge summaries per model, decide per window, and remember across restarts."""

    def __init__(self, *, topics: Topics, references: ReferenceLookup, settings: MonitorSettings,
                 max_record_bytes: int, clock: Callable[[], float] = time.time,
                 output_references: ReferenceLookup | None = None,
                 embedding_references: Callable[[str], np.ndarray | None] | None = None,
                 on_budget: Callable[[str, str, str, float], None] | None = None) -> None:
        self.topics = topics
        self.references = references
        self.output_references = output_references
        self.embedding_references = embedding_references
        self.on_budget = on_budget
        self.settings = settings
        self.clock = clock
        self._decoder = BatchDecoder(MonitorSummary, max_record_bytes=max_record_bytes)
        self._latency = QuantileThreshold(settings.latency_quantile, settings.latency_threshold_s)
        self._slo = SloTracker(settings, clock)
        self._models: dict[str, ModelState] = {}
        self._changed: set[str] = set()  # models whose state this batch changed
        self._new_references: set[str] = set()  # models whose embedding reference it changed
        self._rejected: list[Rejected] = []
        self._outputs: list[Output] = []

    # -- stage protocol ----------------------------------------------------------------
    def add(self, records: Sequence[RawRecord]) -> None:
        decoded = self._decoder.decode(records)
        self._rejected.extend(decoded.rejected)
        for summary in decoded.events:
            state = self._state(summary.model)
            win = state.windows.get(summary.variant)
            if win is None:
                win = state.windows[summary.variant] = DecisionWindow(
                    summary.model, summary.variant, opened=self.clock(),
                    embedding_cap=self.settings.embedding_sample)
            win.merge(summary)
            self._slo.record(summary)
            self._changed.add(summary.model)
            self._close_if_complete(state, win)

    def wait_s(self) -> float | None:
        return None  # decisions happen as summaries arrive; nothing waits on a clock

    def flush(self, *, force: bool) -> list[Output] | None:
        for state in self._models.values():
            for win in list(state.windows.values()):
                self._close_if_complete(state, win)
        outputs = self._outputs + dead_letter_outputs(self.topics.dead_letter, self._rejected)
        for model in sorted(self._changed):
            saved = {**self.records(model, self._new_references, slo=False),
                     **self._slo.drain(model)}
            outputs.extend(Output(self.topics.decision_state, key, raw)
                           for key, raw in saved.items())
        self._outputs, self._rejected, self._changed = [], [], set()
        self._new_references = set()
        return outputs

    # -- state -------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """The models whose state this stage holds."""
        return sorted(self._models)

    def snapshot(self, model: str) -> bytes:
        """One model's state, as the decision-state topic keeps it under the model's key."""
        return self._state(model).snapshot()

    def records(self, model: str, references: Container[str] | None = None, *,
                slo: bool = True) -> dict[bytes, bytes]:
        """The decision-state records of a model: its state, its embedding reference (if
        it has one, and if ``references`` is None or holds the model), and (if ``slo``)
        the counts of its SLO burn windows."""
        state = self._state(model)
        out = {model.encode(): state.snapshot()}
        reference = state.reference_record() if references is None or model in references \
            else None
        if reference is not None:
            out[REFERENCE_KEY + model.encode()] = reference
        if slo:
            out.update(self._slo.snapshot(model))
        return out

    def restore(self, raw: bytes) -> str:
        """Take over a model's state from its snapshot; return the model."""
        state = ModelState.restore(raw, self.settings)
        self._models[state.model] = state
        return state.model

    def adopt(self, saved: Mapping[bytes, bytes], owns: Callable[[str], bool]) -> list[str]:
        """Hold exactly the models this worker ``owns`` after an assignment.

        Models no longer owned are dropped (their new owner restores them); owned models
        not held are restored from ``saved`` (the decision-state topic: each model's state
        under its name, its embedding reference under ``REFERENCE_KEY`` + its name, its SLO
        burn counts under ``SLO_KEY`` + its name + NUL + variant and part). Owned
        models already held are kept as they are: they were written out when the
        partitions were revoked. Returns the models restored.
        """
        for model in [m for m in self._models if not owns(m)]:
            del self._models[model]
            self._slo.forget(model)
        states = {k: v for k, v in saved.items() if not k.startswith(b"\x00")}
        references = {k[len(REFERENCE_KEY):]: v for k, v in saved.items()
                      if k.startswith(REFERENCE_KEY)}
        slo: dict[bytes, dict[bytes, bytes]] = defaultdict(dict)  # model -> its SLO records
        for k, v in saved.items():
            if k.startswith(SLO_KEY):
                model_key, _, rest = k[len(SLO_KEY):].partition(b"\x00")
                slo[model_key][rest] = v
        restored = []
        for key, raw in states.items():
            model = key.decode("utf-8", "replace")
            if model in self._models or not owns(model):
                continue
            try:
                restored.append(self.restore(raw))
                self._slo.restore(model, slo.get(key, {}))
                if key in references:
                    self._models[model].restore_reference(references[key])
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
            state = self._models[model] = ModelState(model, self.settings)
        return state

    # -- decisions ---------------------------------------------------------------------
    def _close_if_complete(self, state: ModelState, win: DecisionWindow) -> None:
        """Judge a window that is full (or old and big enough), then forget it."""
        if self._complete(win):
            self._outputs.extend(self._decide(win))
            del state.windows[win.variant]
            self._changed.add(state.model)

    def _complete(self, win: DecisionWindow) -> bool:
        s = self.settings
        old = self.clock() - win.opened >= s.window_max_s
        return win.n >= s.window_size or (old and win.n >= s.min_window)

    def _decide(self, win: DecisionWindow) -> list[Output]:
        now = self.clock()
        outputs = []
        shifts = self._drift(win)
        if shifts is not None:
            drifted = [s for s in shifts if s.shift.drifted]
            report = _drift_report(win, shifts, drifted, self.settings)
            outputs.append(self._report(win, report, now))
            outputs.extend(self._transition(win, DRIFT, bool(drifted), now,
                                            _drift_evidence(shifts)))
        quality = judge_quality(win, self.references(win.model), self.settings)
        if quality is not None:
            outputs.append(self._report(win, quality.report, now))
            outputs.extend(self._transition(win, DATA_QUALITY, quality.bad, now,
                                            quality.evidence))
        outputs.extend(self._prediction_drift(win, now))
        outputs.extend(self._embedding_drift(win, now))
        outputs.extend(self._concept_drift(win, now))
        outputs.extend(self._burn_rate(win, now))
        if "total" in win.latency:
            verdict = self._latency.evaluate(win.latency["total"])
            outputs.append(self._report(win, _latency_report(win, verdict), now))
            outputs.extend(self._transition(win, LATENCY, verdict.breach, now,
                                            _latency_evidence(win, verdict)))
        return outputs

    def _burn_rate(self, win: DecisionWindow, now: float) -> list[Output]:
        outputs = []
        for detector, burn, objective in (
                (SLO_BURN, self._slo.evaluate(win.model, win.variant), self._slo.slo.objective),
                (ERROR_BURN, self._slo.evaluate_errors(win.model, win.variant),
                 self._slo.error_slo.objective)):
            if burn is not None:
                outputs.extend(self._judge_burn(win, detector, burn, objective, now))
        return outputs

    def _judge_burn(self, win: DecisionWindow, detector: str, burn: BurnRateAlert,
                    objective: float, now: float) -> list[Output]:
        evidence = burn_evidence(burn)
        if self.on_budget is not None:
            self.on_budget(win.model, win.variant, burn.slo, burn.budget_remaining)
        # the statistic is the 1 h burn rate against the fast-page rule's 14.4x
        report = DetectorReport(
            detector=detector, model=win.model, variant=win.variant, segment=GLOBAL,
            window_start=win.window_start, window_end=win.window_end, n=win.n,
            statistic=burn.burn_rates.get(3600.0, 0.0), threshold=14.4,
            decision="breach" if burn.severity else "ok", evidence=evidence)
        report.evidence["severity"] = burn.severity or "none"
        report.evidence["objective"] = objective
        outputs = [self._report(win, report, now)]
        firing = {rule.severity for rule in burn.firing}
        for severity in ("page", "ticket"):  # each severity's rules fire and clear on their own
            fp = fingerprint(win.model, f"{detector}:{severity}", GLOBAL, win.variant)
            change = self._state(win.model).slo_rule.observe(fp, severity in firing, now=now)
            if change is not None:
                alert = _alert(win, detector, fp, change, evidence, self.settings.dashboard_url)
                alert.severity = severity
                alert.labels["severity"] = severity
                outputs.append(Output(self.topics.alerts, fp.encode(), encode(alert)))
        return outputs

    def _concept_drift(self, win: DecisionWindow, now: float) -> list[Output]:
        if not win.labelled:
            return []
        det = self._state(win.model).concept_detector(win.variant)
        v = det.update(win.label_errors, win.labelled)
        if v.baseline is None:
            return []
        evidence: dict[str, float | str] = {
            "error_rate": round(v.rate, 6), "baseline": round(v.baseline, 6),
            "labelled": float(v.labelled), "errors": float(v.errors)}
        report = DetectorReport(
            detector=CONCEPT, model=win.model, variant=win.variant, segment=GLOBAL,
            window_start=win.window_start, window_end=win.window_end, n=v.labelled,
            statistic=v.rate, threshold=v.baseline + det.min_increase, p_value=v.p_value,
            decision="drift" if v.drift else "ok", evidence=evidence)
        return [self._report(win, report, now),
                *self._transition(win, CONCEPT, v.drift, now, evidence)]

    def _embedding_drift(self, win: DecisionWindow, now: float) -> list[Output]:
        """The window's input embeddings against the model's first windows' (MMD)."""
        if len(win.embeddings) < MIN_EMBEDDINGS:
            return []
        state, s = self._state(win.model), self.settings
        given = self.embedding_references(win.model) if self.embedding_references else None
        ref = state.embedding_reference if given is None else given
        if ref is None or (given is None and len(ref) < s.embedding_reference
                           and ref.shape[1] == win.embeddings.shape[1]):
            # still learning the reference: whole windows' samples, untested
            grown = win.embeddings if ref is None else np.concatenate((ref, win.embeddings))
            state.embedding_reference = grown[: s.embedding_reference].copy()
            self._new_references.add(win.model)
            return []
        evidence: dict[str, float | str]
        if ref.shape[1] != win.embeddings.shape[1]:  # another embedder: drift by definition
            drifted, p_value, mmd2 = True, 0.0, float("inf")
            evidence = {"reference_dim": float(ref.shape[1]),
                        "window_dim": float(win.embeddings.shape[1])}
        else:
            # seeded by the window's own sample: another seed per window, the same on replay
            shift = embedding_shift(ref, win.embeddings, alpha=s.embedding_alpha,
                                    n_permutations=s.embedding_permutations,
                                    seed=int(win.embedding_keys[0]) % 2**32)
            drifted, p_value, mmd2 = shift.drifted, shift.p_value, shift.statistic
            evidence = {"novel_share": round(shift.novel_share, 4),
                        "mmd2": float(f"{shift.statistic:.4g}"),
                        "p_value": float(f"{shift.p_value:.3g}"),
                        "mmd_p": float(f"{shift.mmd_p_value:.3g}"),
                        "novelty_p": float(f"{shift.novelty_p_value:.3g}"),
                        "mean_shift": round(shift.mean_shift, 4),
                        "n_window": float(shift.n_window),
                        "n_reference": float(shift.n_reference)}
            if drifted and win.embedding_ids:  # the requests to read first
                evidence["examples"] = ", ".join(
                    win.embedding_ids[i] for i in farthest(ref, win.embeddings, EXAMPLES))
        evidence["embedded"] = float(win.embedded)
        evidence["reference"] = "first windows" if given is None else "file"
        report = DetectorReport(
            detector=EMBEDDING, model=win.model, variant=win.variant, segment=GLOBAL,
            window_start=win.window_start, window_end=win.window_end, n=win.embedded,
            statistic=mmd2 if np.isfinite(mmd2) else -1.0, threshold=s.embedding_alpha,
            p_value=p_value, decision="drift" if drifted else "ok", evidence=evidence)
        return [self._report(win, report, now),
                *self._transition(win, EMBEDDING, drifted, now, evidence)]

    def _prediction_drift(self, win: DecisionWindow, now: float) -> list[Output]:
        ref = self.output_references(win.model) if self.output_references else None
        if ref is None or not win.outputs:
            return []
        reference = dict(zip(ref.names, ref.counts, strict=True))
        shifts = segmented_drift({GLOBAL: win.outputs}, reference,
                                 alpha=self.settings.drift_alpha,
                                 min_psi=self.settings.drift_min_psi)
        if not shifts:
            return []
        drifted = [s for s in shifts if s.shift.drifted]
        report = _drift_report(win, shifts, drifted, self.settings)
        report.detector = PREDICTION_DRIFT
        evidence = _drift_evidence(shifts)
        return [self._report(win, report, now),
                *self._transition(win, PREDICTION_DRIFT, bool(drifted), now, evidence)]

    def _drift(self, win: DecisionWindow) -> list[SegmentShift] | None:
        ref = self.references(win.model)
        if ref is None or not win.histograms.get(GLOBAL):
            return None
        reference = dict(zip(ref.names, ref.counts, strict=True))
        return segmented_drift(win.histograms, reference, alpha=self.settings.drift_alpha,
                               min_psi=self.settings.drift_min_psi)

    def _report(self, win: DecisionWindow, report: DetectorReport, now: float) -> Output:
        report.ts = now
        return Output(self.topics.reports, win.model.encode(), encode(report))

    def _transition(self, win: DecisionWindow, detector: str, bad: bool, now: float,
                    evidence: dict[str, float | str]) -> list[Output]:
        fp = fingerprint(win.model, detector, GLOBAL, win.variant)
        model = self._state(win.model)
        change = model.rule.observe(fp, bad, now=now)
        outputs = []
        if change is not None:
            alert = _alert(win, detector, fp, change, evidence, self.settings.dashboard_url)
            outputs.append(Output(self.topics.alerts, fp.encode(), encode(alert)))
        state = model.rule.state(fp)
        if detector == DRIFT and state.firing:
            decision = model.retrain.consider(win.model, state.bad_streak,
                                              incident_start=state.starts_at, now=now)
            if decision is not None:
                req = RetrainRequested(
                    id=decision.id, model=win.model, reason=decision.reason, evidence=evidence,
                    data_from=win.window_start, data_to=win.window_end, requested_at=now)
                outputs.append(Output(self.topics.retrain, win.model.encode(), encode(req)))
        return outputs


def _drift_report(win: DecisionWindow, shifts: list[SegmentShift], drifted: list[SegmentShift],
                  s: MonitorSettings) -> DetectorReport:
    top = shifts[0].shift if shifts else None
    return DetectorReport(
        detector=DRIFT, model=win.model, variant=win.variant,
        segment=_where(shifts, drifted[0].shift.feature) if drifted else GLOBAL,
        window_start=win.window_start, window_end=win.window_end, n=win.n,
        statistic=top.psi if top else 0.0, threshold=s.drift_min_psi,
        p_value=top.p_adjusted if top else None, decision="drift" if drifted else "ok",
        evidence=_drift_evidence(shifts))


def _drift_evidence(shifts: list[SegmentShift]) -> dict[str, float | str]:
    """The feature and segment to name, and the top shifts (drifted ones first)."""
    evidence: dict[str, float | str] = {}
    shown = [s for s in shifts if s.shift.drifted] or shifts[:3]
    if shown:
        feature = shown[0].shift.feature
        evidence["feature"], evidence["segment"] = feature, _where(shifts, feature)
    for s in shown[:5]:
        name = f"{s.segment}/{s.shift.feature}"
        evidence[f"psi[{name}]"] = round(s.shift.psi, 4)
        evidence[f"p_adj[{name}]"] = float(f"{s.shift.p_adjusted:.3g}")
    return evidence


def _where(shifts: list[SegmentShift], feature: str) -> str:
    """The segment to name: ``*`` when every value of every segment key drifted, else the
    drifted segment that moved most."""
    mine = [s for s in shifts if s.shift.feature == feature and s.segment != GLOBAL]
    hit = {s.segment for s in mine if s.shift.drifted}
    by_key: dict[str, set[str]] = {}
    for s in mine:
        by_key.setdefault(s.segment.split("=", 1)[0], set()).add(s.segment)
    if not hit or all(segs <= hit for segs in by_key.values()):
        return GLOBAL
    return next(s.segment for s in mine if s.segment in hit)  # most shifted first


def _latency_report(win: DecisionWindow, v: LatencyVerdict) -> DetectorReport:
    return DetectorReport(
        detector=LATENCY, model=win.model, variant=win.variant, segment=GLOBAL,
        window_start=win.window_start, window_end=win.window_end, n=win.n,
        statistic=v.statistic, threshold=v.threshold, decision="breach" if v.breach else "ok",
        evidence=_latency_evidence(win, v))


def _latency_evidence(win: DecisionWindow, v: LatencyVerdict) -> dict[str, float | str]:
    sk = win.latency["total"]
    return {"quantile": v.quantile, "value_s": round(v.statistic, 6), "threshold_s": v.threshold,
            "p50_s": round(sk.quantile(0.5), 6), "n": float(v.n)}


def _alert(win: DecisionWindow, detector: str, fp: str, change: Transition,
           evidence: dict[str, float | str], dashboard: str) -> Alert:
    what = _describe(detector, evidence)
    return Alert(
        fingerprint=fp, status=change.status, severity="page",
        labels={"alertname": detector, "model": win.model, "variant": win.variant,
                "detector": detector, "segment": str(evidence.get("segment", GLOBAL)),
                "severity": "page"},
        annotations={"summary": f"{win.model}/{win.variant} {what}",
                     "description": _evidence_text(evidence),
                     "dashboard": f"{dashboard}?var-model={win.model}"},
        starts_at=change.starts_at, ends_at=change.ends_at, evidence=evidence)


def _describe(detector: str, evidence: dict[str, float | str]) -> str:
    if detector == DATA_QUALITY:
        return describe(evidence)
    if detector == ERROR_BURN:
        return (f"error SLO {evidence.get('slo')} burning: 1h x{evidence.get('burn_1h')}, "
                f"6h x{evidence.get('burn_6h')}, budget left {evidence.get('budget_remaining')}")
    if detector == SLO_BURN:
        return (f"latency SLO {evidence.get('slo')} burning: 1h x{evidence.get('burn_1h')}, "
                f"6h x{evidence.get('burn_6h')}, budget left {evidence.get('budget_remaining')}")
    if detector == DRIFT:
        return f"input drift in {evidence.get('feature')} (segment {evidence.get('segment')})"
    if detector == CONCEPT:
        return (f"concept drift: error rate {evidence.get('error_rate')} over baseline "
                f"{evidence.get('baseline')} on {evidence.get('labelled')} labels")
    if detector == PREDICTION_DRIFT:
        return f"prediction drift in {evidence.get('feature')}"
    if detector == EMBEDDING:
        if "window_dim" in evidence:
            return (f"input embeddings changed dimension: {evidence['reference_dim']:g} -> "
                    f"{evidence['window_dim']:g} (another embedding model?)")
        return (f"input embedding drift: {float(evidence['novel_share']):.0%} of inputs unlike "
                f"the reference (MMD² {evidence['mmd2']}, p={evidence['p_value']})")
    return (f"latency p{float(evidence['quantile']) * 100:g} {float(evidence['value_s']):.3f}s"
            f" (threshold {float(evidence['threshold_s']):.3f}s)")


def _evidence_text(evidence: dict[str, float | str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in evidence.items() if not isinstance(v, np.ndarray))
