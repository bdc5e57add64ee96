"""The decision window and stage: merged summaries in; reports, alerts, retrains out.

MonitorSummary events are built directly (seeded multinomial histograms, lognormal
latencies), encoded with the real codec and fed as source records; the clock is manual.
"""

from __future__ import annotations

import hashlib
import os

import msgspec
import numpy as np
import pytest

from detectors.fingerprint import incident_id
from detectors.quantile_sketch import QuantileSketch
from detectors.reference.profile import ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.slo_tracker import ERROR_BURN, SLO_KEY
from streams.decision.stage import DecisionStage
from streams.decision.window import GLOBAL, DecisionWindow
from streams.monitoring.monitor_stage import MonitorStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import (
    Alert,
    DetectorReport,
    Latency,
    ModelOutput,
    MonitorSummary,
    Prediction,
    RetrainDecided,
    RetrainRequested,
)
from streams.wire.topics import Topics

TOPICS = Topics("t.")
DRIFT, LATENCY = "feature_drift", "latency_quantile"
NAMES = ("a", "b", "c")
WINDOW = 400  # two partition summaries of 200 make one decision window


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    rng = np.random.default_rng(2024)
    return ReferenceProfile.from_features("churn", "v1", NAMES, rng.normal(size=(20_000, 3)))


def _settings(**kw: object) -> DecisionConfig:
    base: dict[str, object] = dict(window_size=WINDOW, min_window=10, window_max_s=1e9,
                                   fire_after=2, resolve_after=2, retrain_after=3,
                                   retrain_cooldown_s=3600.0, drift_alpha=0.001,
                                   drift_min_psi=0.1, latency_quantile=0.99,
                                   latency_threshold_s=0.25)
    base.update(kw)
    return DecisionConfig(**base)  # type: ignore[arg-type]


def _stage(ref: ReferenceProfile, clock: Clock, **kw: object) -> DecisionStage:
    return DecisionStage(topics=TOPICS, references=lambda m: ref if m == "churn" else None,
                         config=_settings(**kw), max_record_bytes=1 << 20, clock=clock)


_DRIFTED_B = np.r_[np.full(3, 0.02), np.full(7, 0.94 / 7)]


class Feed:
    """Seeded summaries and the offsets they would have on the summaries topic."""

    def __init__(self, ref: ReferenceProfile, seed: int) -> None:
        self.ref = ref
        self.rng = np.random.default_rng(seed)
        self.offset = 0
        self.t = 1000.0

    def _hist(self, n: int, drift: bool) -> dict[str, list[int]]:
        props = [c / c.sum() for c in self.ref.counts]
        return {name: self.rng.multinomial(n, _DRIFTED_B if (drift and name == "b") else p
                                           ).tolist()
                for name, p in zip(NAMES, props, strict=True)}

    def summary(self, partition: int, *, n: int = WINDOW // 2, drift: bool = False,
                seg_drift: dict[str, bool] | None = None, latency_median: float = 0.04,
                variant: str = "A") -> MonitorSummary:
        segments: dict[str, dict[str, list[int]]] = {}
        if seg_drift is None:
            hist = self._hist(n, drift)
        else:
            share = n // len(seg_drift)
            for label, d in seg_drift.items():
                segments[label] = self._hist(share, d)
            hist = {f: np.sum([s[f] for s in segments.values()], axis=0).tolist() for f in NAMES}
        sketch = QuantileSketch(relative_accuracy=0.01)
        sketch.update_many(self.rng.lognormal(np.log(latency_median), 0.3, n))
        self.t += 1.0
        return MonitorSummary(model="churn", variant=variant, partition=partition,
                              first_offset=0, last_offset=n - 1, window_start=self.t,
                              window_end=self.t + 0.5, n=n, histograms=hist,
                              latency={"total": sketch.snapshot()}, segments=segments)

    def records(self, *summaries: MonitorSummary) -> list[SourceRecord]:
        out = []
        for s in summaries:
            out.append(SourceRecord(TOPICS.summaries, 0, self.offset, s.model.encode(), encode(s)))
            self.offset += 1
        return out

    def window(self, **kw: object) -> list[SourceRecord]:
        return self.records(self.summary(0, **kw), self.summary(1, **kw))  # type: ignore[arg-type]


def _decode(outputs: list, topic: str, event: type) -> list:
    recs = [SourceRecord(o.topic, 0, i, o.key, o.value)
            for i, o in enumerate(outputs) if o.topic == topic]
    dec = BatchDecoder(event, max_record_bytes=1 << 22).decode(recs)
    assert dec.rejected == []
    return dec.events


def _run(stage: DecisionStage, clock: Clock, records: list[SourceRecord]) -> dict[str, list]:
    clock.t += 10.0
    stage.add(records)
    outputs = stage.flush(force=False)
    assert outputs is not None
    assert outputs[-1].topic == TOPICS.decision_state
    return {"reports": _decode(outputs, TOPICS.reports, DetectorReport),
            "alerts": _decode(outputs, TOPICS.alerts, Alert),
            "retrain": _decode(outputs, TOPICS.retrain, RetrainRequested),
            "decided": _decode(outputs, TOPICS.retrain_decisions, RetrainDecided),
            "raw": outputs}


# -- the window ----------------------------------------------------------------------------
def _predictions(seed: int, n: int) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    X = rng.normal(0.2, 1.1, size=(n, 3))
    total = rng.lognormal(-3, 0.5, n)
    return [Prediction(request_id=f"{seed}-{i}", ts=10.0 + i + float(total[i]), model="churn",
                       variant="A", model_version="v1",
                       output=ModelOutput(label=1, score=0.9, probabilities=[0.1, 0.9]),
                       latency=Latency(queue_s=float(total[i]) / 4, inference_s=float(total[i]) / 2,
                                       total_s=float(total[i])),
                       features=dict(zip(NAMES, map(float, X[i]), strict=True)),
                       segment={"region": ["eu", "us"][i % 2]}) for i in range(n)]


def _summarise(ref: ReferenceProfile, parts: list[list[Prediction]]) -> list[MonitorSummary]:
    stage = MonitorStage(topics=TOPICS, references=lambda m: ref, summary_size=10**6,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock())
    for part, preds in enumerate(parts):
        stage.add([SourceRecord(TOPICS.predictions, part, i, None, encode(p))
                   for i, p in enumerate(preds)])
    return _decode(stage.flush(force=True) or [], TOPICS.summaries, MonitorSummary)


def test_merge_of_summaries_equals_summary_of_union(reference: ReferenceProfile) -> None:
    p1, p2, p3 = _predictions(1, 300), _predictions(2, 150), _predictions(3, 77)
    parts = _summarise(reference, [p1, p2, p3])
    [union] = _summarise(reference, [p1 + p2 + p3])
    win = DecisionWindow("churn", "A", opened=0.0)
    for s in parts:
        win.merge(s)
    assert win.n == union.n == 527
    assert (win.window_start, win.window_end) == (union.window_start, union.window_end)
    assert {f: c.tolist() for f, c in win.histograms[GLOBAL].items()} == union.histograms
    assert set(win.histograms) == {GLOBAL, *union.segments}
    for seg, hists in union.segments.items():
        assert {f: c.tolist() for f, c in win.histograms[seg].items()} == hists
    for part in ("queue", "inference", "total"):
        merged, whole = win.latency[part], QuantileSketch.from_dict(union.latency[part])
        assert merged.count == whole.count == 527
        assert merged.sum == pytest.approx(whole.sum, rel=1e-12)
        assert (merged.min, merged.max) == (whole.min, whole.max)
        for q in (0.05, 0.5, 0.9, 0.99):
            assert merged.quantile(q) == whole.quantile(q)


def test_window_snapshot_round_trips(reference: ReferenceProfile) -> None:
    win = DecisionWindow("churn", "A", opened=5.0)
    for s in _summarise(reference, [_predictions(4, 50), _predictions(5, 60)]):
        win.merge(s)
    back = DecisionWindow.from_snapshot(win.snapshot())
    assert back.snapshot() == win.snapshot()
    assert back.latency["total"].quantile(0.9) == win.latency["total"].quantile(0.9)


# -- the stage -----------------------------------------------------------------------------
def test_window_is_judged_only_when_full(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 0)
    stage = _stage(reference, clock)
    out = _run(stage, clock, feed.records(feed.summary(0)))
    assert out["reports"] == [] and out["alerts"] == []
    out = _run(stage, clock, feed.records(feed.summary(1)))
    assert sorted(r.detector for r in out["reports"]) == [DRIFT, LATENCY, ERROR_BURN]
    drift = next(r for r in out["reports"] if r.detector == DRIFT)
    assert drift.n == WINDOW and drift.decision == "ok"
    assert drift.ts == clock.t


def test_drift_fires_once_after_fire_after_and_resolves(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 1)
    stage = _stage(reference, clock)
    plan = [False, True, True, True, True, False, False, False]
    alerts_per_window, decisions = [], []
    for drifted in plan:
        out = _run(stage, clock, feed.window(drift=drifted))
        decisions.append(next(r.decision for r in out["reports"] if r.detector == DRIFT))
        alerts_per_window.append((clock.t, out["alerts"]))
        assert not any(r.decision == "breach" for r in out["reports"])
    assert decisions == ["drift" if d else "ok" for d in plan]
    changes = [(i, a.status) for i, (_, alerts) in enumerate(alerts_per_window) for a in alerts]
    assert changes == [(2, "firing"), (6, "resolved")]  # fire_after=2, resolve_after=2
    fired, resolved = alerts_per_window[2][1][0], alerts_per_window[6][1][0]
    # one identity, decided when it fired: model, variant, detector, severity, what fired
    fp = incident_id("churn", "A", DRIFT, "page", {"feature": "b", "segment": GLOBAL})
    assert fired.fingerprint == resolved.fingerprint == fp
    assert fired.labels == resolved.labels == {
        "alertname": DRIFT, "model": "churn", "variant": "A", "detector": DRIFT,
        "severity": "page", "feature": "b", "segment": GLOBAL}
    assert fired.evidence["feature"] == "b"
    # the resolve names what fired and states its evidence now: b's PSI back under 0.1
    assert (resolved.evidence["feature"], resolved.evidence["segment"]) == ("b", GLOBAL)
    assert float(resolved.evidence["psi"]) < 0.1 < float(fired.evidence["psi[*/b]"])
    assert "input drift in b" in resolved.annotations["summary"]
    assert "input drift in b" in fired.annotations["summary"]
    assert fired.starts_at == alerts_per_window[2][0]
    assert fired.ends_at is None
    assert (resolved.starts_at, resolved.ends_at) == (fired.starts_at, alerts_per_window[6][0])


def test_retrain_once_per_incident_with_a_deterministic_id(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 2)
    stage = _stage(reference, clock, retrain_after=3, retrain_cooldown_s=0.0)
    plan = [True, True, True, True, True, False, False, True, True, True]
    retrains, fire_times = [], []
    for i, drifted in enumerate(plan):
        out = _run(stage, clock, feed.window(drift=drifted))
        fire_times += [a.starts_at for a in out["alerts"] if a.status == "firing"]
        retrains += [(i, r) for r in out["retrain"]]
    # the third drifted window of each incident asks once; the incident's later windows do not
    assert [i for i, _ in retrains] == [2, 9]
    assert len(fire_times) == 2
    for (_, req), start in zip(retrains, fire_times, strict=True):
        digest = hashlib.sha256(f"churn|drift|{start!r}".encode()).hexdigest()[:16]
        assert req.id == f"rt-{digest}"
        assert req.model == "churn"
        assert req.evidence["feature"] == "b"
        assert req.data_from < req.data_to
    assert retrains[0][1].id != retrains[1][1].id


def test_retrain_cooldown_suppresses_a_second_incident(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 3)
    stage = _stage(reference, clock, retrain_after=2, retrain_cooldown_s=3600.0)
    plan = [True, True, False, False, True, True, True]
    retrains, decided = [], []
    for i, drifted in enumerate(plan):
        out = _run(stage, clock, feed.window(drift=drifted))
        retrains += [i for _ in out["retrain"]]
        decided += [(i, d) for d in out["decided"]]
    assert retrains == [1]
    # each decision is published with its reason: the request, then the second incident's
    # suppression once (not again at each of its later drifted windows)
    assert [(i, d.status) for i, d in decided] == [(1, "requested"), (5, "suppressed")]
    assert decided[0][1].retrain_id and decided[1][1].retrain_id == ""
    assert decided[1][1].reason == ("suppressed: cooldown: the last request was 40 s ago, "
                                    "3600 s needed")


def test_latency_breach_fires_latency_alert(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 4)
    stage = _stage(reference, clock)
    plan = [0.04, 0.5, 0.5, 0.5]
    statuses, verdicts = [], []
    for median in plan:
        out = _run(stage, clock, feed.window(latency_median=median))
        lat = next(r for r in out["reports"] if r.detector == LATENCY)
        verdicts.append(lat.decision)
        statuses += [(a.labels["alertname"], a.severity, a.status) for a in out["alerts"]]
        assert lat.threshold == 0.25
    assert verdicts == ["ok", "breach", "breach", "breach"]
    # a window's quantile over its threshold is a warning (ticket); pages come from burn rates
    assert statuses == [(LATENCY, "ticket", "firing")]


def test_segment_only_drift_names_the_segment(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 5)
    stage = _stage(reference, clock)
    alerts = []
    for _ in range(3):
        out = _run(stage, clock, feed.window(
            n=600, seg_drift={"region=eu": True, "region=us": False, "region=apac": False}))
        alerts += out["alerts"]
        report = next(r for r in out["reports"] if r.detector == DRIFT)
        assert report.segment == "region=eu"
    [alert] = alerts
    assert alert.labels["segment"] == "region=eu"
    assert alert.evidence["segment"] == "region=eu"
    assert "(segment region=eu)" in alert.annotations["summary"]


def test_global_drift_names_star(reference: ReferenceProfile) -> None:
    clock, feed = Clock(), Feed(reference, 6)
    stage = _stage(reference, clock)
    alerts = []
    for _ in range(3):
        out = _run(stage, clock, feed.window(
            n=600, seg_drift={"region=eu": True, "region=us": True, "region=apac": True}))
        alerts += out["alerts"]
    [alert] = alerts
    assert alert.labels["segment"] == GLOBAL
    assert alert.evidence["segment"] == GLOBAL


def test_snapshot_restore_gives_identical_outputs(reference: ReferenceProfile) -> None:
    clock_a, clock_b = Clock(), Clock()
    first = _stage(reference, clock_a)
    feed = Feed(reference, 7)
    before = [feed.window(drift=False), feed.window(drift=True), feed.window(drift=True),
              feed.records(feed.summary(0, drift=True))]  # ends mid-window
    after = [feed.records(feed.summary(1, drift=True)), feed.window(drift=True),
             feed.window(drift=True, latency_median=0.6), feed.window(latency_median=0.6),
             feed.window(), feed.window()]
    for recs in before:
        _run(first, clock_a, recs)
    saved = first.records("churn")  # its state and its SLO burn counts
    assert any(key.startswith(SLO_KEY) for key in saved)
    second = _stage(reference, clock_b)
    assert second.adopt(saved, owns=lambda model: True) == ["churn"]
    assert second.records("churn") == saved
    clock_b.t = clock_a.t
    outs_a, outs_b = [], []
    for recs in after:
        outs_a.append(_run(first, clock_a, recs)["raw"])
        outs_b.append(_run(second, clock_b, recs)["raw"])
    assert outs_a == outs_b
    kinds = [o.topic for outs in outs_a for o in outs]
    assert TOPICS.alerts in kinds and TOPICS.retrain in kinds  # the tail did decide things


def test_bad_summary_is_dead_lettered(reference: ReferenceProfile) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    stage.add([SourceRecord(TOPICS.summaries, 0, 5, b"churn", b'{"model": "churn"}')])
    outputs = stage.flush(force=False)
    assert outputs is not None
    assert [o.topic for o in outputs] == [TOPICS.dead_letter]  # no model's state changed


def test_latency_breach_of_one_variant_fires_despite_the_other(
        reference: ReferenceProfile) -> None:
    # Windows are per (model, variant); a slow challenger must page even while the
    # champion's windows, decided in between, are fine.
    clock, feed = Clock(), Feed(reference, 8)
    stage = _stage(reference, clock)
    alerts = []
    for _ in range(3):
        alerts += _run(stage, clock, feed.window(variant="A", latency_median=0.04))["alerts"]
        alerts += _run(stage, clock, feed.window(variant="B", latency_median=0.6))["alerts"]
    assert [(a.labels["alertname"], a.labels["variant"], a.status) for a in alerts] == [
        (LATENCY, "B", "firing")]


def test_concept_drift_fires_when_the_error_rate_rises_over_the_baseline(
        reference: ReferenceProfile) -> None:
    CONCEPT = "concept_drift"
    clock = Clock()
    stage = _stage(reference, clock, fire_after=2, resolve_after=2)
    rng = np.random.default_rng(11)
    changes, verdicts = [], []
    plan = [0.1] * 3 + [0.35] * 4 + [0.1] * 3  # error rate of each window's labels
    for window, rate in enumerate(plan):
        clock.t += 10
        labelled = 800
        join = MonitorSummary(model="churn", variant="A", partition=-1, first_offset=-1,
                              last_offset=-1, window_start=0.0, window_end=0.0, n=0,
                              histograms={}, latency={}, labelled=labelled,
                              label_errors=int(rng.binomial(labelled, rate)))
        records = [SourceRecord(TOPICS.summaries, 0, 1000 + window, b"churn", encode(join)),
                   *Feed(reference, 100 + window).window()]
        out = _run(stage, clock, records)
        verdicts += [r.decision for r in out["reports"] if r.detector == CONCEPT]
        changes += [(window, a.status) for a in out["alerts"] if a.labels["detector"] == CONCEPT]
    # windows 0 and 1 (1,600 labels >= baseline_labelled=1000) set the baseline, unjudged
    assert verdicts == ["ok"] + ["drift"] * 4 + ["ok"] * 3
    assert changes == [(4, "firing"), (8, "resolved")]


def test_a_rebalance_hands_each_model_to_its_new_owner(
        reference: ReferenceProfile, caplog: pytest.LogCaptureFixture) -> None:
    clock, feed = Clock(), Feed(reference, 11)
    old, new = _stage(reference, clock), _stage(reference, clock)
    state_topic: dict[bytes, bytes] = {}  # the compacted decision-state topic: latest per key

    def run(stage: DecisionStage, records: list[SourceRecord]) -> list[tuple[str, str]]:
        out = _run(stage, clock, records)
        state_topic.update({o.key: o.value for o in out["raw"]
                            if o.topic == TOPICS.decision_state})
        return [(a.status, a.labels["model"]) for a in out["alerts"]]

    def fraud() -> list[SourceRecord]:
        return feed.records(msgspec.structs.replace(feed.summary(0), model="fraud"))

    paged = run(old, feed.window()) + run(old, fraud())
    paged += run(old, feed.window(drift=True)) + run(old, feed.window(drift=True))
    assert paged == [("firing", "churn")]
    # one key per model, not one blob (and each model's SLO burn counts, under their own)
    assert {k for k in state_topic if not k.startswith(SLO_KEY)} == {b"churn", b"fraud"}
    state_topic[b"decision"] = b'{"rule": {}}'  # the old single-key format: not a model's

    # churn's summaries partition moves to the new worker; fraud's stays with the old one
    with caplog.at_level("WARNING"):
        assert new.adopt(state_topic, owns=lambda m: m in ("churn", "decision")) == ["churn"]
    assert "b'decision'" in caplog.text
    assert old.adopt(state_topic, owns=lambda m: m == "fraud") == []  # fraud kept as held
    assert (old.models, new.models) == (["fraud"], ["churn"])

    # the drift goes on, then ends: no second page, one resolution, from the new owner
    paged = run(new, feed.window(drift=True)) + run(new, feed.window()) + run(new, feed.window())
    assert paged == [("resolved", "churn")]
    assert run(old, fraud()) == []
