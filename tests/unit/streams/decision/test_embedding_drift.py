"""Input-embedding drift through the monitor and decision stages, in process (no Kafka).

The simulator's outside assistant sends prompts with their embeddings (384-d, by topic);
its records go to three partitions as the broker would place them, through the monitor
stage (bottom-k samples per partition) and the decision stage (merged windows, MMD
against the model's first window) at the shipped settings.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import msgspec
import numpy as np
import pytest

from detectors.embedding_sample import bottom_k, project, sample_key
from detectors.reference import embedding as embedding_reference
from inference.registry import ModelStore
from inference.served_versions import ServedVersions
from retrain.synthetic_prompts import PromptTopics
from streams.decision.config import DecisionConfig
from streams.decision.embedding_drift import EmbeddingDrift
from streams.decision.slo_tracker import SLO_KEY
from streams.decision.stage import DecisionStage
from streams.decision.state import REFERENCE_KEY, ModelState
from streams.decision.window import DecisionWindow, unpack_packed
from streams.errors import ConfigError
from streams.kafka.record_writer import partition_of
from streams.kafka.stage import Output
from streams.monitoring.monitor_stage import MonitorStage
from streams.serving.references import References
from streams.settings import MonitorSettings
from streams.simulation.simulator import Scenario, TrafficPlan
from streams.wire.codec import BatchDecoder, SourceRecord
from streams.wire.events import Alert, DetectorReport, MonitorSummary, Prediction
from streams.wire.topics import Topics

EMBEDDING = "embedding_drift"
TOPICS = Topics("t.")
CHUNK = 250


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Pipeline:
    """Simulator -> monitor stage -> decision stage, one chunk of requests at a time."""

    def __init__(self, scenario: Scenario, settings: MonitorSettings | None = None) -> None:
        self.clock = Clock()
        self.settings = settings or MonitorSettings()
        self.plan = TrafficPlan(scenario, TOPICS, self.clock)
        self.monitor = MonitorStage(
            topics=TOPICS, references=lambda m: None, summary_size=10**6,
            summary_interval_s=1e9, max_record_bytes=1 << 22, clock=self.clock,
            embedding_sample=self.settings.embedding_sample)
        self.decide = self._decision_stage()
        self.offsets: dict[int, int] = defaultdict(int)
        self.predictions: list[Prediction] = []
        self.summaries: list[MonitorSummary] = []
        self.state_records: list[Output] = []  # what went to the decision-state topic

    def _decision_stage(self) -> DecisionStage:
        return DecisionStage(topics=TOPICS, references=lambda m: None,
                             config=DecisionConfig.from_settings(self.settings),
                             max_record_bytes=1 << 22, clock=self.clock)

    def run(self, start: int, stop: int) -> tuple[list[Alert], list[DetectorReport]]:
        alerts: list[Alert] = []
        reports: list[DetectorReport] = []
        for lo in range(start, stop, CHUNK):
            self.clock.t += 1.0
            records = []
            for topic, key, value in self.plan.chunk(lo, min(lo + CHUNK, stop)):
                if topic != TOPICS.predictions:  # requests for the served model: not here
                    continue
                part = partition_of(key, 3)
                records.append(SourceRecord(topic, part, self.offsets[part], key, value))
                self.offsets[part] += 1
                self.predictions.append(msgspec.json.decode(value, type=Prediction))
            self.monitor.add(records)
            summaries = [SourceRecord(o.topic, 0, i, o.key, o.value) for i, o in
                         enumerate(self.monitor.flush(force=True) or [])
                         if o.topic == TOPICS.summaries]
            self.summaries += _decode(summaries, MonitorSummary)
            self.decide.add(summaries)
            flushed = self.decide.flush(force=False) or []
            self.state_records += [o for o in flushed if o.topic == TOPICS.decision_state]
            outputs = [SourceRecord(o.topic, 0, i, o.key, o.value)
                       for i, o in enumerate(flushed)]
            alerts += _decode([r for r in outputs if r.topic == TOPICS.alerts], Alert)
            reports += [r for r in _decode([r for r in outputs if r.topic == TOPICS.reports],
                                           DetectorReport) if r.detector == EMBEDDING]
        return alerts, reports


def _decode(records: list[SourceRecord], event: type) -> list:
    decoded = BatchDecoder(event, max_record_bytes=1 << 22).decode(records)
    assert decoded.rejected == []
    return decoded.events


def _assistant(count: int, **kw: object) -> Scenario:
    return Scenario(count=count, seed=3, run_id="p", llm_share=1.0, **kw)  # type: ignore[arg-type]


def test_a_new_topic_in_prompts_pages_once_naming_its_share() -> None:
    pipe = Pipeline(_assistant(12_000, topic_shift_at=6_000, topic_share=0.4))
    before, quiet = pipe.run(0, 6_000)
    assert before == [] and quiet and all(r.decision == "ok" for r in quiet)
    alerts, reports = pipe.run(6_000, 12_000)
    assert [(a.status, a.labels["model"], a.labels["detector"]) for a in alerts] == [
        ("firing", "assistant", EMBEDDING)]
    drifted = [r for r in reports if r.decision == "drift"]
    assert len(drifted) >= 4  # every window after the change (6 of them) but noise
    for r in drifted:  # ~40% of prompts are about a topic the reference never saw
        assert 0.25 <= float(r.evidence["novel_share"]) <= 0.55, r.evidence
        assert r.p_value is not None and r.p_value <= pipe.settings.embedding_alpha
    summary = alerts[0].annotations["summary"]
    assert "input embedding drift" in summary and "unlike the reference" in summary
    # the page names requests to read: the most unusual prompts, all on the new topic
    examples = str(alerts[0].evidence["examples"]).split(", ")
    embedding_of = {p.request_id: np.array(p.embedding) for p in pipe.predictions}
    assert len(examples) == 3 and all(  # cosine to the new topic: ~0.78 on it, ~0 off it
        embedding_of[rid] @ pipe.plan._prompts.new_topic > 0.5 for rid in examples), examples
    assert examples[0] in alerts[0].annotations["description"]


def test_stable_prompts_raise_no_alert_at_the_shipped_settings() -> None:
    pipe = Pipeline(_assistant(60_000))
    alerts, reports = pipe.run(0, 60_000)
    assert alerts == []
    assert len(reports) == 56  # every window but the first four (the reference) was tested
    p_values = np.array([r.p_value for r in reports])
    assert (p_values > pipe.settings.embedding_alpha).mean() >= 0.97


def test_a_window_keeps_the_bottom_k_of_every_partition_together() -> None:
    pipe = Pipeline(_assistant(1_000))
    pipe.run(0, 750)  # three quarters of the first window, not judged yet
    [win] = pipe.decide._models["assistant"].windows.values()
    keys = np.array([sample_key(p.request_id) for p in pipe.predictions], dtype=np.int64)
    vectors = np.array([p.embedding for p in pipe.predictions])
    want_keys, want_vectors = bottom_k(keys, vectors, pipe.settings.embedding_sample)
    assert win.embedded == 750 and win.embedding_keys.tolist() == want_keys.tolist()
    by_key = {sample_key(p.request_id): p.request_id for p in pipe.predictions}
    assert win.embedding_ids == [by_key[k] for k in want_keys.tolist()]
    # projected per partition, merged, kept as float32: the same rows as one projection
    np.testing.assert_allclose(win.embeddings, project(want_vectors), rtol=0, atol=1e-6)


def test_decisions_resume_exactly_from_a_snapshot() -> None:
    first = Pipeline(_assistant(9_000, topic_shift_at=5_000))
    first.run(0, 4_500)  # the reference is set and a window is half full
    second = Pipeline(_assistant(9_000, topic_shift_at=5_000))
    second.run(0, 4_500)  # the same traffic, so its plan is at the same place
    second.decide = second._decision_stage()  # a fresh decider: a new worker
    saved = first.decide.records("assistant")
    assert {k for k in saved if not k.startswith(SLO_KEY)} == {
        b"assistant", REFERENCE_KEY + b"assistant"}
    assert second.decide.adopt(saved, owns=lambda model: True) == ["assistant"]
    assert second.decide.records("assistant") == saved
    assert first.run(4_500, 9_000) == second.run(4_500, 9_000)


def test_the_reference_is_written_while_it_grows_and_then_never() -> None:
    pipe = Pipeline(_assistant(12_000))
    pipe.run(0, 12_000)
    references = [o.value for o in pipe.state_records if o.key == REFERENCE_KEY + b"assistant"]
    states = [o.value for o in pipe.state_records if o.key == b"assistant"]
    # one per window of its first four, as it grows to 512 rows (4 x 128), then none
    assert [len(unpack_packed(msgspec.json.decode(r)["embedding_reference"]))
            for r in references] == [128, 256, 384, 512]
    assert len(states) == 48  # every chunk changes the state: an open window, a decision
    assert not any(b"embedding_reference" in r for r in states)
    # the largest state holds an open window's sample (128 rows), a quarter of the reference
    assert max(map(len, states)) < len(references[-1]) / 3


def test_a_state_with_its_reference_inside_is_restored_and_moved_out() -> None:
    first = Pipeline(_assistant(6_000))
    first.run(0, 6_000)
    saved = first.decide.records("assistant", slo=False)
    inside = msgspec.json.decode(saved[b"assistant"]) | msgspec.json.decode(
        saved[REFERENCE_KEY + b"assistant"])  # as states were written before the key
    fresh = first._decision_stage()
    fresh.adopt({b"assistant": msgspec.json.encode(inside)}, owns=lambda model: True)
    assert fresh.records("assistant", slo=False) == saved
    moved = {o.key for o in fresh.flush(force=False) or []}
    assert moved == {b"assistant", REFERENCE_KEY + b"assistant"}


def test_another_embedding_model_is_drift_by_its_dimension() -> None:
    config = DecisionConfig()
    window = DecisionWindow("assistant", "A", opened=0.0, window_start=1.0, window_end=2.0)
    state = ModelState("assistant", config)
    state.embedding_reference = np.random.default_rng(0).normal(size=(128, 32))
    window.embeddings = np.random.default_rng(1).normal(size=(128, 16))
    window.embedding_keys = np.arange(128, dtype=np.int64)
    window.embedded = 128
    [verdict] = EmbeddingDrift(config).judge(window, state)
    report = verdict.report
    assert report is not None and verdict.bad
    assert report.decision == "drift"
    assert "16" in EmbeddingDrift.describe(verdict.evidence)
    assert report.evidence["reference_dim"] == 32 and report.evidence["window_dim"] == 16


def _references_with(tmp_path: Path, embeddings: np.ndarray) -> References:
    embedding_reference.save(tmp_path / "assistant" / embedding_reference.FILE_NAME,
                             embeddings)
    return References(ServedVersions(ModelStore(tmp_path), device=None))


@pytest.mark.parametrize(("shift", "decisions"), [(None, ["ok", "ok"]),
                                                  (0, ["drift", "drift"])])
def test_a_reference_file_is_used_from_the_first_window(
        tmp_path: Path, shift: int | None, decisions: list[str]) -> None:
    references = _references_with(tmp_path, PromptTopics(seed=99).sample(600))  # normal prompts
    assert references.check_embedding_references() == ["assistant"]
    pipe = Pipeline(_assistant(2_000, topic_shift_at=shift))
    pipe.decide = DecisionStage(topics=TOPICS, references=lambda m: None,
                                config=DecisionConfig.from_settings(pipe.settings),
                                max_record_bytes=1 << 22,
                                clock=pipe.clock,
                                embedding_references=references.embedding_reference)
    alerts, reports = pipe.run(0, 2_000)
    assert [r.decision for r in reports] == decisions  # no window spent learning
    assert all(r.evidence["reference"] == "file" for r in reports)
    assert [a.status for a in alerts] == ([] if shift is None else ["firing"])


@pytest.mark.parametrize(("array", "problem"), [
    (np.zeros((10, 8)), "n >= 32"),
    (np.full((40, 8), np.nan), "finite"),
    (np.zeros(40), "(n, d)"),
])
def test_a_bad_reference_file_stops_the_worker_naming_it(
        tmp_path: Path, array: np.ndarray, problem: str) -> None:
    path = tmp_path / "assistant" / embedding_reference.FILE_NAME
    path.parent.mkdir()
    np.save(path, array)
    with pytest.raises(ConfigError) as info:
        References(ServedVersions(ModelStore(tmp_path), device=None)).check_embedding_references()
    assert str(path) in str(info.value) and problem in str(info.value)
