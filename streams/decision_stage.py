"""The decision step: merged summaries in; reports, alerts and retrain requests out.

Low rate (a few summaries per partition per second). Per (model, variant) it merges
summaries into a :class:`~streams.decision_window.DecisionWindow`; when the window holds
``window_size`` predictions (or is old and big enough) it runs the detectors, emits a
DetectorReport per detector, turns verdicts into alert transitions with hysteresis, and
asks for a retrain on sustained drift. Its whole state is emitted to a compacted topic
in the same transaction as its outputs, so a restart resumes exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np

from detectors.alert_rule import AlertRule, Transition
from detectors.burn_rate import BurnRateAlert
from detectors.error_rate import ErrorRateShift
from detectors.feature_drift import SegmentShift, segmented_drift
from detectors.fingerprint import fingerprint
from detectors.latency import LatencyVerdict, QuantileThreshold
from retrain.policy import RetrainPolicy
from streams.batch_loop import Output, dead_letter_outputs
from streams.codec import BatchDecoder, RawRecord, Rejected, encode
from streams.decision_window import GLOBAL, DecisionWindow
from streams.events import Alert, DetectorReport, MonitorSummary, RetrainRequested
from streams.monitor_stage import ReferenceLookup
from streams.settings import MonitorSettings
from streams.slo_tracker import ERROR_BURN, SLO_BURN, SloTracker, burn_evidence
from streams.topics import Topics

CONCEPT = "concept_drift"
DRIFT = "feature_drift"
PREDICTION_DRIFT = "prediction_drift"
LATENCY = "latency_quantile"


class DecisionStage:
    """Merge summaries per model, decide per window, and remember across restarts."""

    def __init__(self, *, topics: Topics, references: ReferenceLookup, settings: MonitorSettings,
                 max_record_bytes: int, clock: Callable[[], float] = time.time,
                 output_references: ReferenceLookup | None = None,
                 on_budget: Callable[[str, str, str, float], None] | None = None) -> None:
        self.topics = topics
        self.references = references
        self.output_references = output_references
        self.on_budget = on_budget
        self.settings = settings
        self.clock = clock
        self._decoder = BatchDecoder(MonitorSummary, max_record_bytes=max_record_bytes)
        self._latency = QuantileThreshold(settings.latency_quantile, settings.latency_threshold_s)
        self._rule = AlertRule(settings.fire_after, settings.resolve_after)
        self._retrain = RetrainPolicy(settings.retrain_after, settings.retrain_cooldown_s)
        # burn rates carry their own hysteresis (the short window): fire and resolve at once
        self._slo = SloTracker(settings, clock)
        self._slo_rule = AlertRule(fire_after=1, resolve_after=1)
        self._concept: dict[str, ErrorRateShift] = {}
        self._windows: dict[tuple[str, str], DecisionWindow] = {}
        self._rejected: list[Rejected] = []
        self._outputs: list[Output] = []

    # -- stage protocol ----------------------------------------------------------------
    def add(self, records: Sequence[RawRecord]) -> None:
        decoded = self._decoder.decode(records)
        self._rejected.extend(decoded.rejected)
        for summary in decoded.events:
            key = (summary.model, summary.variant)
            win = self._windows.get(key)
            if win is None:
                win = self._windows[key] = DecisionWindow(*key, opened=self.clock())
            win.merge(summary)
            self._slo.record(summary)
            if self._complete(win):
                self._outputs.extend(self._decide(win))
                del self._windows[key]

    def wait_s(self) -> float | None:
        return None  # decisions happen as summaries arrive; nothing waits on a clock

    def flush(self, *, force: bool) -> list[Output] | None:
        for key, win in list(self._windows.items()):
            if self._complete(win):
                self._outputs.extend(self._decide(win))
                del self._windows[key]
        outputs = self._outputs + dead_letter_outputs(self.topics.dead_letter, self._rejected)
        outputs.append(Output(self.topics.decision_state, b"decision", self.snapshot()))
        self._outputs, self._rejected = [], []
        return outputs

    # -- state -------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        return msgspec.json.encode({
            "rule": self._rule.snapshot(), "retrain": self._retrain.snapshot(),
            "slo_rule": self._slo_rule.snapshot(),
            "concept": {k: d.snapshot() for k, d in self._concept.items()},
            "windows": [w.snapshot() for w in self._windows.values()],
        })

    def restore(self, raw: bytes) -> None:
        state: dict[str, Any] = msgspec.json.decode(raw)
        self._rule.restore(state["rule"])
        self._retrain.restore(state["retrain"])
        self._slo_rule.restore(state.get("slo_rule", {}))
        for key, snap in state.get("concept", {}).items():
            model, _, variant = key.partition("/")
            self._concept_detector(model, variant).restore(snap)
        self._windows = {(w["model"], w["variant"]): DecisionWindow.restore(w)
                         for w in state["windows"]}

    # -- decisions ---------------------------------------------------------------------
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
        outputs.extend(self._prediction_drift(win, now))
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
            change = self._slo_rule.observe(fp, severity in firing, now=now)
            if change is not None:
                alert = _alert(win, detector, fp, change, evidence, self.settings.dashboard_url)
                alert.severity = severity
                alert.labels["severity"] = severity
                outputs.append(Output(self.topics.alerts, fp.encode(), encode(alert)))
        return outputs

    def _concept_detector(self, model: str, variant: str) -> ErrorRateShift:
        key = f"{model}/{variant}"
        det = self._concept.get(key)
        if det is None:
            s = self.settings
            det = self._concept[key] = ErrorRateShift(
                s.concept_baseline_labelled, s.concept_alpha, s.concept_min_increase)
        return det

    def _concept_drift(self, win: DecisionWindow, now: float) -> list[Output]:
        if not win.labelled:
            return []
        det = self._concept_detector(win.model, win.variant)
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
        change = self._rule.observe(fp, bad, now=now)
        outputs = []
        if change is not None:
            alert = _alert(win, detector, fp, change, evidence, self.settings.dashboard_url)
            outputs.append(Output(self.topics.alerts, fp.encode(), encode(alert)))
        state = self._rule.state(fp)
        if detector == DRIFT and state.firing:
            decision = self._retrain.consider(win.model, state.bad_streak,
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
    return (f"latency p{float(evidence['quantile']) * 100:g} {float(evidence['value_s']):.3f}s"
            f" (threshold {float(evidence['threshold_s']):.3f}s)")


def _evidence_text(evidence: dict[str, float | str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in evidence.items() if not isinstance(v, np.ndarray))
