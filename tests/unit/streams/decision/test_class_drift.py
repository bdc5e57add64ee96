"""A 4-class model whose inputs of one class drift: the prediction-drift alert names the
class (decision stage, broker-free)."""

from __future__ import annotations

import numpy as np

from detectors.confusion import class_edges
from detectors.reference.profile import ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.prediction_drift import PredictionDrift
from streams.decision.stage import DecisionStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import Alert, DetectorReport, MonitorSummary
from streams.wire.topics import Topics

TOPICS = Topics("t.")
K = 4
CENTRES = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])


def _rows(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """The 4-class model's (score, predicted class) on ``n`` inputs of classes drawn with
    ``weights``: each class's inputs around its centre, the model a softmax on distances."""
    y = rng.choice(K, size=n, p=weights / weights.sum())
    x = CENTRES[y] + rng.normal(0, 1.0, (n, 2))
    logits = -((x[:, None, :] - CENTRES[None]) ** 2).sum(axis=2)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.column_stack((p.max(axis=1), p.argmax(axis=1)))


def _reference(rng: np.random.Generator) -> ReferenceProfile:
    rows = _rows(rng, 20_000, np.ones(K))
    score = ReferenceProfile.from_features("m", "v1", ("score",), rows[:, :1])
    edges = [score.edges[0], class_edges(K)]
    counts = [score.counts[0], np.bincount(rows[:, 1].astype(int), minlength=K)]
    return ReferenceProfile("m", "v1", ("score", "class"), edges, counts, 20_000)


def _summary(ref: ReferenceProfile, rows: np.ndarray, offset: int) -> SourceRecord:
    idx = ref.bin_indices(rows)
    outputs = {name: np.bincount(idx[:, j], minlength=len(ref.edges[j]) + 1).tolist()
               for j, name in enumerate(ref.names)}
    summary = MonitorSummary(model="m", variant="A", partition=0, first_offset=offset,
                             last_offset=offset, window_start=0.0, window_end=1.0,
                             n=len(rows), histograms={}, latency={}, outputs=outputs)
    return SourceRecord(TOPICS.summaries, 0, offset, b"m", encode(summary))


def _decode(outputs: list, topic: str, event: type) -> list:  # type: ignore[type-arg]
    dec = BatchDecoder(event, max_record_bytes=1 << 20)
    return dec.decode([SourceRecord(o.topic, 0, 0, o.key, o.value)
                       for o in outputs if o.topic == topic]).events


def _run(moved: int, seed: int, *, calm_windows: int = 2,
         drifted_windows: int = 3) -> tuple[list[DetectorReport], list[Alert]]:
    rng = np.random.default_rng(seed)
    ref = _reference(rng)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None,
                          config=DecisionConfig(window_size=1000, min_window=200,
                                                fire_after=2, resolve_after=2),
                          max_record_bytes=1 << 20, clock=lambda: 0.0,
                          output_references=lambda m: ref if m == "m" else None)
    calm, drifted = np.ones(K), np.ones(K)
    drifted[moved] = 3.0  # the moved class's inputs come three times as often
    reports, alerts = [], []
    for window, weights in enumerate([calm] * calm_windows + [drifted] * drifted_windows):
        stage.add([_summary(ref, _rows(rng, 500, weights), 2 * window + i) for i in range(2)])
        out = stage.flush(force=False) or []
        reports += [r for r in _decode(out, TOPICS.reports, DetectorReport)
                    if r.detector == PredictionDrift.detector]
        alerts += _decode(out, TOPICS.alerts, Alert)
    return reports, alerts


def test_the_alert_names_the_class_whose_inputs_moved() -> None:
    for moved, seed in ((2, 0), (0, 1), (3, 2)):
        reports, alerts = _run(moved, seed)
        assert [r.decision for r in reports] == ["ok", "ok", "drift", "drift", "drift"]
        assert [r.evidence["class"] for r in reports[2:]] == [moved] * 3
        assert reports[2].evidence["feature"] == "class"
        # three in six of the inputs are of the moved class, against one in four before
        assert 0.45 < float(reports[2].evidence["share"]) < 0.55
        assert 0.23 < float(reports[2].evidence["expected"]) < 0.27
        firing = [a for a in alerts if a.status == "firing"]
        assert len(firing) == 1
        text = " ".join(firing[0].annotations.values())
        assert f"class {moved} predicted" in text, text


def test_a_calm_multiclass_stream_never_alerts() -> None:
    reports, alerts = _run(0, 3, calm_windows=30, drifted_windows=0)
    assert len(reports) == 30 and all(r.decision == "ok" for r in reports)
    assert alerts == []
