"""A regression's windows in the decision step: the join's error sums merge, the report
carries MAE, RMSE and bias beside the reference's, and a sustained rise pages with "MAE x
against reference y", resolving when the errors recover."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from detectors.reference.regression import ErrorReference
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.decision.window import DecisionWindow
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Alert, DetectorReport, MonitorSummary
from streams.wire.topics import Topics

TOPICS = Topics("t.")
WINDOW = 300
REFERENCE = ErrorReference("price", "v1", mae=0.8, rmse=1.0, bias=0.0, n=1000)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _summaries(error: np.ndarray) -> list[MonitorSummary]:
    """The monitor's summary of a window's predictions and the join's of their values,
    over two partitions."""
    out = [MonitorSummary(model="price", variant="A", partition=0, first_offset=0,
                          last_offset=WINDOW - 1, window_start=1.0, window_end=2.0, n=WINDOW,
                          histograms={}, latency={})]
    for part in np.array_split(error, 2):
        out.append(MonitorSummary(
            model="price", variant="A", partition=-1, first_offset=-1, last_offset=-1,
            window_start=1.0, window_end=2.0, n=0, histograms={}, latency={},
            valued=part.size, abs_error_sum=float(np.abs(part).sum()),
            squared_error_sum=float((part ** 2).sum()), error_sum=float(part.sum())))
    return out


def _feed(stage: DecisionStage, clock: Clock, error: np.ndarray
          ) -> tuple[list[DetectorReport], list[Alert]]:
    clock.t += 10.0
    # the join's summaries first: the monitor's closes the window
    stage.add([SourceRecord(TOPICS.summaries, 0, i, b"price", encode(s))
               for i, s in enumerate(_summaries(error)[::-1])])
    out = stage.flush(force=False) or []
    reports = [msgspec.json.decode(o.value, type=DetectorReport) for o in out
               if o.topic == TOPICS.reports]
    alerts = [msgspec.json.decode(o.value, type=Alert) for o in out if o.topic == TOPICS.alerts]
    return [r for r in reports if r.detector == "regression_error"], alerts


def test_a_biased_model_pages_with_mae_against_reference_and_resolves() -> None:
    clock, rng = Clock(), np.random.default_rng(4)
    config = DecisionConfig(window_size=WINDOW, min_window=10, window_max_s=1e9,
                            fire_after=2, resolve_after=2)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=clock,
                          error_references=lambda m: REFERENCE if m == "price" else None)
    healthy = rng.normal(0, 1, WINDOW)
    (report,), alerts = _feed(stage, clock, healthy)
    assert report.decision == "ok" and alerts == []
    assert report.statistic == pytest.approx(np.abs(healthy).mean(), rel=1e-12)
    assert report.evidence["rmse"] == pytest.approx(np.sqrt((healthy ** 2).mean()), abs=1e-6)
    assert report.evidence["bias"] == pytest.approx(healthy.mean(), abs=1e-6)
    assert report.evidence["reference_mae"] == 0.8 and report.n == WINDOW
    pages = []
    for _ in range(2):  # biased by +1.5: MAE about 1.6 against 0.8
        (report,), alerts = _feed(stage, clock, rng.normal(1.5, 1, WINDOW))
        assert report.decision == "drift"
        pages += alerts
    (page,) = pages
    assert page.status == "firing" and page.severity == "page"
    assert f"MAE {page.evidence['mae']} against reference 0.8" in str(page.annotations)
    resolved = []
    for _ in range(2):
        resolved += _feed(stage, clock, rng.normal(0, 1, WINDOW))[1]
    assert [a.status for a in resolved] == ["resolved"]


def test_a_classifiers_window_snapshots_as_before_and_a_regressions_round_trips() -> None:
    win = DecisionWindow("price", "A", opened=0.0)
    assert "regression" not in win.snapshot()
    for s in _summaries(np.array([1.0, -2.0, 0.5, 3.0])):
        win.merge(s)
    back = DecisionWindow.from_snapshot(msgspec.json.decode(msgspec.json.encode(win.snapshot())))
    assert back.errors == win.errors and back.errors.n == 4 and back.errors.mae == 1.625


def test_no_reference_no_report() -> None:
    clock = Clock()
    config = DecisionConfig(window_size=WINDOW, min_window=10, window_max_s=1e9)
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=clock)
    assert _feed(stage, clock, np.ones(WINDOW))[0] == []
