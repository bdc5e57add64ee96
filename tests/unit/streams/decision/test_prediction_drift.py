"""Prediction drift: the model's scores against its own scores on the reference rows."""

from __future__ import annotations

import numpy as np

from detectors.reference.profile import OUTPUTS, ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import Alert, DetectorReport, MonitorSummary
from streams.wire.topics import Topics

PREDICTION_DRIFT = "prediction_drift"
TOPICS = Topics("t.")


def _output_reference() -> ReferenceProfile:
    scores = np.random.default_rng(0).beta(2, 5, size=(20_000, 1))
    return ReferenceProfile.from_features("m", "v1", OUTPUTS, scores)


def _summary(ref: ReferenceProfile, rng: np.random.Generator, shifted: bool,
             offset: int) -> SourceRecord:
    scores = rng.beta(5, 2, size=(500, 1)) if shifted else rng.beta(2, 5, size=(500, 1))
    counts = np.bincount(ref.bin_indices(scores)[:, 0], minlength=len(ref.edges[0]) + 1)
    summary = MonitorSummary(model="m", variant="A", partition=0, first_offset=offset,
                             last_offset=offset, window_start=0.0, window_end=1.0, n=500,
                             histograms={}, latency={}, outputs={"score": counts.tolist()})
    return SourceRecord(TOPICS.summaries, 0, offset, b"m", encode(summary))


def _decode(outputs: list, topic: str, event: type) -> list:  # type: ignore[type-arg]
    dec = BatchDecoder(event, max_record_bytes=1 << 20)
    return dec.decode([SourceRecord(o.topic, 0, 0, o.key, o.value)
                       for o in outputs if o.topic == topic]).events


def test_shifted_scores_fire_prediction_drift_after_fire_after_windows() -> None:
    ref, rng = _output_reference(), np.random.default_rng(1)
    settings = DecisionConfig(window_size=1000, min_window=200, fire_after=2, resolve_after=2)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=settings,
                          max_record_bytes=1 << 20, clock=lambda: 0.0,
                          output_references=lambda m: ref if m == "m" else None)
    verdicts, alerts = [], []
    for window, shifted in enumerate([False, False, True, True, True, False, False]):
        stage.add([_summary(ref, rng, shifted, 2 * window + i) for i in range(2)])
        out = stage.flush(force=False) or []
        verdicts += [r.decision for r in _decode(out, TOPICS.reports, DetectorReport)
                     if r.detector == PREDICTION_DRIFT]
        alerts += [(window, a.status) for a in _decode(out, TOPICS.alerts, Alert)]
    assert verdicts == ["ok", "ok", "drift", "drift", "drift", "ok", "ok"]
    assert alerts == [(3, "firing"), (6, "resolved")]


def test_stable_scores_never_alert() -> None:
    ref, rng = _output_reference(), np.random.default_rng(2)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None,
                          config=DecisionConfig(window_size=1000, min_window=200),
                          max_record_bytes=1 << 20, clock=lambda: 0.0,
                          output_references=lambda m: ref)
    alerts = []
    for window in range(50):
        stage.add([_summary(ref, rng, False, 2 * window + i) for i in range(2)])
        alerts += _decode(stage.flush(force=False) or [], TOPICS.alerts, Alert)
    assert alerts == []
