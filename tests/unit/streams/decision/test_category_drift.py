"""Category drift and categorical data quality from predictions to alerts, without a
broker: the monitor counts per partition, the window merges, the judges page naming the
feature, the category and the segment."""

from __future__ import annotations

import os

import msgspec
import numpy as np
import pytest

from detectors.data_quality import category_quality
from detectors.reference.categories import CategoryProfile
from streams.decision.config import DecisionConfig
from streams.decision.data_quality import judge_quality
from streams.decision.stage import DecisionStage
from streams.decision.window import DecisionWindow
from streams.monitoring.monitor_stage import MonitorStage
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import (
    Alert,
    DetectorReport,
    Latency,
    ModelOutput,
    MonitorSummary,
    Prediction,
)
from streams.wire.topics import Topics

TOPICS = Topics("t.")
VOCAB = {"plan": ["free", "pro", "team"], "channel": ["web", "app"]}
SHARES = {"plan": [0.5, 0.3, 0.2], "channel": [0.6, 0.4]}
REGIONS = ["eu", "us", "apac"]
WINDOW = 600


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def profile() -> CategoryProfile:
    rng = np.random.default_rng(5)
    return CategoryProfile.from_columns(
        {n: list(rng.choice(VOCAB[n], 30_000, p=SHARES[n])) for n in VOCAB}, VOCAB)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _predictions(rng: np.random.Generator, n: int, *, new: float = 0.0,
                 missing: float = 0.0) -> list[Prediction]:
    """``new``: the share of region=eu's requests whose plan is "gold"; ``missing``: the
    share of every request with no channel."""
    out = []
    for i in range(n):
        region = REGIONS[i % 3]
        cats = {name: str(rng.choice(VOCAB[name], p=SHARES[name])) for name in VOCAB}
        if region == "eu" and rng.random() < new:
            cats["plan"] = "gold"
        if rng.random() < missing:
            del cats["channel"]
        out.append(Prediction(
            request_id=f"r{i}", ts=100.0 + i * 1e-3, model="churn", variant="A",
            model_version="v1", output=ModelOutput(label=0, score=0.2),
            latency=Latency(queue_s=0.001, inference_s=0.002, total_s=0.004),
            segment={"region": region}, categorical=cats))
    return out


def _summaries(profile: CategoryProfile, preds: list[Prediction]) -> list[MonitorSummary]:
    stage = MonitorStage(topics=TOPICS, references=lambda m: None, summary_size=10**6,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock(),
                         category_references=lambda m: profile)
    half = len(preds) // 2
    for part, chunk in enumerate((preds[:half], preds[half:])):
        stage.add([SourceRecord(TOPICS.predictions, part, i, None, encode(p))
                   for i, p in enumerate(chunk)])
    return [msgspec.json.decode(o.value, type=MonitorSummary)
            for o in stage.flush(force=True) or [] if o.topic == TOPICS.summaries]


def _decide(stage: DecisionStage, summaries: list[MonitorSummary], offset: int) -> list:
    stage.add([SourceRecord(TOPICS.summaries, 0, offset + i, s.model.encode(), encode(s))
               for i, s in enumerate(summaries)])
    return stage.flush(force=False) or []


def test_a_new_category_in_one_segment_pages_once_naming_it_and_resolves(
        profile: CategoryProfile) -> None:
    config = DecisionConfig(window_size=WINDOW, min_window=10, window_max_s=1e9,
                            fire_after=2, resolve_after=2)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=Clock(),
                          category_references=lambda m: profile)
    rng = np.random.default_rng(1)
    phases = [0.0] * 4 + [0.2] * 4 + [0.0] * 4
    outputs = []
    for k, new in enumerate(phases):
        outputs += _decide(stage, _summaries(profile, _predictions(rng, WINDOW, new=new)),
                           10 * k)
    alerts = [msgspec.json.decode(o.value, type=Alert) for o in outputs
              if o.topic == TOPICS.alerts]
    reports = [msgspec.json.decode(o.value, type=DetectorReport) for o in outputs
               if o.topic == TOPICS.reports]
    assert [(a.status, a.labels["detector"]) for a in alerts] == [
        ("firing", "category_drift"), ("resolved", "category_drift")]
    fired, resolved = alerts
    assert (fired.labels["feature"], fired.labels["segment"]) == ("plan", "region=eu")
    assert (fired.evidence["category"], fired.evidence["bin"]) == ("gold", "<unseen>")
    assert 0.12 < float(fired.evidence["share"]) < 0.3 and fired.evidence["expected"] == 0.0
    summary = fired.annotations["summary"]
    assert all(word in summary for word in ("plan", "gold", "region=eu")), summary
    assert resolved.fingerprint == fired.fingerprint
    drift = [r.decision for r in reports if r.detector == "category_drift"]
    assert drift == ["ok"] * 4 + ["drift"] * 4 + ["ok"] * 4
    # data quality measures the unseen share, and does not page for it
    quality = [r for r in reports if r.detector == "data_quality"]
    assert len(quality) == 12 and all(r.decision == "ok" for r in quality)
    assert all("unseen_share[plan]" in r.evidence for r in quality[4:8])


def test_missing_categorical_inputs_are_a_data_quality_breach_with_scipy_numbers(
        profile: CategoryProfile) -> None:
    from scipy import stats

    rng = np.random.default_rng(2)
    win = DecisionWindow("churn", "A", opened=0.0)
    for s in _summaries(profile, _predictions(rng, 1000, missing=0.1)):
        win.merge(s)
    (channel,) = [c for c in category_quality(profile, win.categories["*"])
                  if c.feature == "channel"]
    assert channel.missing == int(win.categories["*"]["channel"][-1]) > 60
    config = DecisionConfig(quality_tolerance=0.02, quality_alpha=0.001)
    verdict = judge_quality(win, None, config, profile)
    assert verdict is not None and verdict.bad and verdict.report is not None
    ev = verdict.evidence
    assert (ev["feature"], ev["problem"], ev["segment"]) == ("channel", "missing", "*")
    p = stats.binomtest(channel.missing, 1000, 0.02, alternative="greater").pvalue
    assert verdict.report.p_value == pytest.approx(min(p * 2, 1.0), rel=1e-6, abs=1e-300)
    assert judge_quality(win, None, config, None) is None


def test_window_counts_merge_and_snapshot(profile: CategoryProfile) -> None:
    rng = np.random.default_rng(3)
    preds = _predictions(rng, 900, new=0.3)
    win = DecisionWindow("churn", "A", opened=0.0)
    for s in _summaries(profile, preds):
        win.merge(s)
    plans = [p.categorical["plan"] for p in preds]
    assert win.categories["*"]["plan"].tolist() == profile.count_values("plan", plans).tolist()
    eu = [p.categorical["plan"] for p in preds if p.segment["region"] == "eu"]
    assert win.categories["region=eu"]["plan"].tolist() == profile.count_values(
        "plan", eu).tolist()
    assert win.unseen_categories == {"plan": {"gold": plans.count("gold")}}
    back = DecisionWindow.from_snapshot(msgspec.json.decode(msgspec.json.encode(win.snapshot())))
    assert back.unseen_categories == win.unseen_categories
    assert {s: {f: c.tolist() for f, c in h.items()} for s, h in back.categories.items()} == {
        s: {f: c.tolist() for f, c in h.items()} for s, h in win.categories.items()}
