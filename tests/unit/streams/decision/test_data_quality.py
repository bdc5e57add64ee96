"""Data quality from predictions to alerts, without a broker: the monitor counts per
partition, the window merges the counts, the judge pages naming the feature."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import numpy as np
import pytest
from scipy import stats

from detectors.reference.profile import ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.data_quality import judge_quality
from streams.decision.stage import DecisionStage
from streams.decision.window import DecisionWindow
from streams.monitoring.monitor_stage import MonitorStage
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Alert, Latency, ModelOutput, MonitorSummary, Prediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")
NAMES = ("a", "b", "c")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    rng = np.random.default_rng(11)
    return ReferenceProfile.from_features("churn", "v1", NAMES, rng.normal(size=(20_000, 3)))


def _predictions(seed: int, n: int, *, missing: str | None = None, share: float = 0.0,
                 far: str | None = None, extra: str | None = None) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    out = []
    for i in range(n):
        features = dict(zip(NAMES, map(float, X[i]), strict=True))
        if missing and rng.random() < share:
            del features[missing]
        if far and rng.random() < share:
            features[far] = 50.0
        if extra and rng.random() < share:
            features[extra] = 1.0
        out.append(Prediction(
            request_id=f"{seed}-{i}", ts=100.0 + i, model="churn", variant="A",
            model_version="v1", output=ModelOutput(label=1, score=0.9),
            latency=Latency(queue_s=0.001, inference_s=0.002, total_s=0.004),
            features=features))
    return out


def _summaries(ref: ReferenceProfile, parts: list[list[Prediction]]) -> list[MonitorSummary]:
    stage = MonitorStage(topics=TOPICS, references=lambda m: ref, summary_size=10**6,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock())
    for part, preds in enumerate(parts):
        stage.add([SourceRecord(TOPICS.predictions, part, i, None, encode(p))
                   for i, p in enumerate(preds)])
    return [msgspec.json.decode(o.value, type=MonitorSummary)
            for o in stage.flush(force=True) or [] if o.topic == TOPICS.summaries]


def test_partition_counts_merge_to_the_counts_of_the_union(reference: ReferenceProfile) -> None:
    p1 = _predictions(1, 300, missing="b", share=0.3)
    p2 = _predictions(2, 200, far="c", share=0.1)
    p3 = _predictions(3, 100, extra="zz", share=0.5)
    win = DecisionWindow("churn", "A", opened=0.0)
    for s in _summaries(reference, [p1, p2, p3]):
        win.merge(s)
    everything = p1 + p2 + p3
    assert win.checked == 600
    assert win.missing == {"b": sum("b" not in p.features for p in everything)}
    low, high = reference.low, reference.high
    assert low is not None and high is not None
    outside = {n: sum(1 for p in everything if n in p.features
                      and not low[j] <= p.features[n] <= high[j])
               for j, n in enumerate(NAMES)}
    assert win.out_of_range == {n: c for n, c in outside.items() if c}
    assert win.out_of_range["c"] >= 10  # the planted values, beside the reference's tails
    assert win.unknown == {"zz": sum("zz" in p.features for p in p3)}
    assert win.nonfinite == {}
    # the complete rows still make the drift histograms
    assert sum(win.histograms["*"]["a"]) == sum(all(n in p.features for n in NAMES)
                                                for p in everything)
    back = DecisionWindow.from_snapshot(msgspec.json.decode(msgspec.json.encode(win.snapshot())))
    assert (back.checked, back.missing, back.out_of_range, back.unknown) == (
        win.checked, win.missing, win.out_of_range, win.unknown)


def test_a_window_snapshot_of_older_code_restores_with_no_counts() -> None:
    old = DecisionWindow("churn", "A", opened=1.0).snapshot()
    for key in ("checked", "missing", "nonfinite", "out_of_range", "unknown"):
        del old[key]
    back = DecisionWindow.from_snapshot(old)
    assert back.checked == 0 and back.missing == {} and back.unknown == {}
    summary = msgspec.json.decode(b'{"model":"m","variant":"A","partition":0,"first_offset":0,'
                                  b'"last_offset":0,"window_start":1,"window_end":2,"n":1,'
                                  b'"histograms":{},"latency":{}}', type=MonitorSummary)
    assert summary.checked == 0 and summary.missing == {}


def test_the_judge_names_the_missing_feature_with_scipy_numbers(
        reference: ReferenceProfile) -> None:
    win = DecisionWindow("churn", "A", opened=0.0)
    for s in _summaries(reference, [_predictions(4, 500, missing="b", share=0.3),
                                    _predictions(5, 500, missing="b", share=0.3)]):
        win.merge(s)
    settings = DecisionConfig(quality_tolerance=0.02, quality_alpha=0.001)
    judged = judge_quality(win, reference, settings)
    assert judged is not None and judged.bad
    ev = judged.evidence
    assert (ev["feature"], ev["segment"], ev["problem"]) == ("b", "*", "missing")
    k = win.missing["b"] + win.out_of_range.get("b", 0)  # bad: missing or out of range
    assert ev["share"] == round(k / 1000, 4) and 0.25 < k / 1000 < 0.35
    assert ev["missing_share"] == round(win.missing["b"] / 1000, 4)
    expected = float(reference.out_of_range[1]) + 0.02  # type: ignore[index]
    p = stats.binomtest(k, 1000, expected, alternative="greater").pvalue
    assert judged.report.p_value == pytest.approx(min(p * 3, 1.0), rel=1e-6, abs=1e-300)
    assert judged.report.decision == "breach" and judged.report.detector == "data_quality"
    assert judge_quality(win, None, settings) is None


def test_missing_feature_pages_once_then_resolves_through_the_stage(
        reference: ReferenceProfile) -> None:
    clock = Clock()
    settings = DecisionConfig(window_size=400, min_window=10, window_max_s=1e9,
                               fire_after=2, resolve_after=2)
    stage = DecisionStage(topics=TOPICS, references=lambda m: reference, config=settings,
                          max_record_bytes=1 << 20, clock=clock)
    alerts: list[Alert] = []
    offset = 0
    for w, share in enumerate([0.0, 0.3, 0.3, 0.3, 0.0, 0.0, 0.0]):
        clock.t += 10
        parts = [_predictions(100 + 2 * w + i, 200, missing="b", share=share) for i in (0, 1)]
        records = []
        for s in _summaries(reference, parts):
            records.append(SourceRecord(TOPICS.summaries, 0, offset, b"churn", encode(s)))
            offset += 1
        stage.add(records)
        alerts += [msgspec.json.decode(o.value, type=Alert)
                   for o in stage.flush(force=False) or [] if o.topic == TOPICS.alerts]
    quality = [a for a in alerts if a.labels["detector"] == "data_quality"]
    assert [a.status for a in quality] == ["firing", "resolved"], alerts
    assert quality[0].fingerprint == quality[1].fingerprint
    assert quality[0].labels == quality[1].labels and quality[0].labels["feature"] == "b"
    assert quality[0].evidence["feature"] == "b"
    assert quality[1].evidence["feature"] == "b" and float(quality[1].evidence["share"]) < 0.02
    assert "b missing" in quality[0].annotations["summary"]
    assert [a for a in alerts if a.labels["detector"] != "data_quality"] == []


def test_an_outside_model_gives_its_profile_beside_its_name(
        tmp_path: Path, reference: ReferenceProfile) -> None:
    from inference.registry import ModelStore
    from inference.served_versions import ServedVersions
    from streams.serving.references import References

    (tmp_path / "ranker").mkdir()
    reference.save(tmp_path / "ranker" / "reference.json")
    served = ServedVersions(ModelStore(tmp_path), device=None)
    references = References(served)
    assert references.reference("ranker") == reference
    assert references.reference("nobody") is None
    assert served.predictor("ranker", "") is None  # a profile is not a served model
