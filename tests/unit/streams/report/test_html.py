"""The HTML report: real ClickHouse rows in, one escaped page out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streams.report.html import collect, render
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import _MAPPINGS

SRC = ("src_partition", "src_offset")


def test_report_explains_flagged_windows_and_escapes_event_text(tmp_path: Path) -> None:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        pred_cols = (*_MAPPINGS["predictions"].columns, *SRC)
        store.insert("predictions", pred_cols, [
            [f"r{i}", 100.0 + i, "churn", "A", "v1", 1, 0.7, 0.001, 0.002, 0.01 * (i + 1),
             None, None, None, None, 4, "cpu", {}, "", {}, None, 0, i] for i in range(100)],
            token="p")
        store.insert("detector_reports", (*_MAPPINGS["detector-reports"].columns, *SRC), [
            # ts, detector, model, variant, segment, window start/end, n, statistic,
            # threshold, p-value, decision, evidence
            [150.0, "feature_drift", "churn", "A", "region=eu", 100.0, 140.0, 1000, 0.48, 0.1,
             1e-20, "drift", '{"feature":"f2","segment":"region=eu","psi[region=eu/f2]":0.48}',
             0, 1],
            [160.0, "feature_drift", "churn", "A", "*", 140.0, 150.0, 1000, 0.01, 0.1, 0.9,
             "ok", "{}", 0, 2]], token="r")
        store.insert("alerts", (*_MAPPINGS["alerts"].columns, *SRC), [
            ["fp1", "firing", "page", "churn", "feature_drift", "<script>alert(1)</script>",
             "psi=0.48", {"model": "churn"}, 150.0, None, "{}", 0, 1]], token="a")
        store.insert("experiment_decisions", (*_MAPPINGS["model-updates"].extra[0].columns, *SRC), [
            [f"e{i}", 160.0 + i, "churn-v2", "churn", "A", "B", action, "label_error",
             "mixture-sprt-two-sided", -0.04123, -0.07, -0.011, 0.004, 900 + i, 880 + i, 0.8,
             "label_error better", 0, i] for i, action in enumerate(("continue", "promote"))],
            token="e")
        page = render(collect(store), generated=0.0)
    finally:
        store.close()
    # p50 and p99 of 10 ms .. 1000 ms in 100 steps: quantileExact takes index floor(q * n)
    assert "<td>churn</td><td>A</td><td>100</td><td>0</td><td>510.0</td><td>1000.0</td>" in page
    assert ("<td>feature_drift</td><td>churn</td><td>A</td><td>region=eu</td><td>0.48</td>"
            "<td>0.1</td><td>1e-20</td>") in page  # the flagged window, not the ok one
    assert "<code>feature</code> = f2" in page
    assert ("<td>churn-v2</td><td>churn</td><td>A</td><td>B</td><td>promote</td>"
            "<td>label_error</td><td>-0.0412</td><td>-0.07</td><td>-0.011</td><td>0.004</td>"
            "<td>901</td><td>881</td>") in page  # the latest look only
    assert "<td>continue</td>" not in page
    assert page.count("<td>feature_drift</td>") == 2  # the flagged window and the alert
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Generated 1970-01-01 00:00:00Z" in page


def test_report_shows_retrain_decisions_validations_versions_and_estimates(
        tmp_path: Path) -> None:
    from streams.storage.metric_rows import RowMapper
    from streams.wire.codec import SourceRecord, encode
    from streams.wire.events import (
        DetectorReport,
        ModelVersionPublished,
        RetrainDecided,
        ValidationCheck,
    )
    from streams.wire.topics import Topics

    topics = Topics("t.")
    events = {
        "retrain-decisions": [
            RetrainDecided(model="churn", status="requested", reason="input drift sustained",
                           incident_start=90.0, ts=100.0, retrain_id="rt-1"),
            RetrainDecided(model="churn", status="suppressed", reason="cooldown: 3500 s left",
                           incident_start=95.0, ts=130.0)],
        "model-updates": [
            ModelVersionPublished(
                model="churn", version="v2", artifact="/m/churn/v2/model.pt", ts=120.0,
                retrain_id="rt-1", parent="v1", device="cpu", passed=True,
                reason="passed: holdout accuracy 0.8880 vs champion 0.8100",
                checks=[ValidationCheck(check="accuracy", value=0.078, threshold=0.01,
                                        passed=True),
                        ValidationCheck(check="latency", value=0.03, threshold=0.5,
                                        passed=True)]),
            ModelVersionPublished(model="churn", version="v2", artifact="", ts=121.0,
                                  action="promoted", alias="champion", previous="v1")],
        "detector-reports": [
            DetectorReport(detector="performance_estimate", model="churn", variant="A",
                           segment="*", window_start=10.0, window_end=20.0, n=500,
                           statistic=0.71, threshold=0.84, decision="drift",
                           evidence={"band_low": 0.67, "band_high": 0.75,
                                     "reference_accuracy": 0.89, "labelled": 40.0,
                                     "realised_accuracy": 0.7}, ts=21.0)],
    }
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        mapper = RowMapper(topics, max_record_bytes=1 << 16)
        for role, evs in events.items():
            topic = topics.name(role)
            rows, rejected = mapper.rows(topic, [SourceRecord(topic, 0, i, None, encode(e))
                                                 for i, e in enumerate(evs)])
            assert rejected == []
            for table in (*rows.also, rows):
                store.insert(table.table, table.columns, table.rows, token=f"{role}-{table.table}")
        page = render(collect(store), generated=0.0)
    finally:
        store.close()
    assert "<td>churn</td><td>requested</td><td>input drift sustained</td><td>rt-1</td>" in page
    assert "<td>suppressed</td><td>cooldown: 3500 s left</td>" in page
    assert ("<td>churn</td><td>v2</td><td>v1</td><td>accuracy</td><td>0.078</td>"
            "<td>0.01</td><td>yes</td>") in page
    assert "<td>v2</td><td>published</td><td></td><td></td><td>v1</td><td>yes</td>" in page
    assert "<td>v2</td><td>promoted</td><td>champion</td><td>v1</td>" in page
    assert ("<td>churn</td><td>A</td><td>0.71</td><td>0.67</td><td>0.75</td><td>0.89</td>"
            "<td>0.7</td><td>40</td><td>500</td><td>yes</td>") in page


def test_report_prices_what_each_model_version_used_per_thousand_predictions(
        tmp_path: Path) -> None:
    from streams.report.html import COST_TABLE
    from streams.settings import CostSettings

    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        cpu = np.random.default_rng(4).uniform(1e-5, 1e-3, 300)
        # v1: 200 metered predictions on a CPU without an energy counter; v2: 100 with
        # energy; and 50 from an outside server, with no cost at all
        rows = [[f"r{i}", 100.0 + i, "churn", "A", "v1" if i < 200 else "v2", 1, 0.7, 0.001,
                 0.002, 0.01, None, float(cpu[i]), None, 0.05 if i >= 200 else None, 4, "cpu",
                 {}, "", {}, None, 0, i] for i in range(300)]
        rows += [[f"x{i}", 500.0 + i, "churn", "A", "v1", 1, 0.7, 0.0, 0.0, 0.01, None, None,
                  None, None, 1, "external", {}, "", {}, None, 1, i] for i in range(50)]
        store.insert("predictions", (*_MAPPINGS["predictions"].columns, *SRC), rows, token="c")
        table = collect(store, prices=CostSettings(cpu_hour=0.04, gpu_hour=2.0)
                        ).tables[COST_TABLE]
        unpriced = collect(store).tables[COST_TABLE]
    finally:
        store.close()
    (v1, v2) = table
    for (model, version, n, per_1k, gpu, _, money), (want, part) in (
            (v1, ("v1", cpu[:200])), (v2, ("v2", cpu[200:]))):
        assert (model, version, n, gpu) == ("churn", want, len(part), "no GPU")
        assert per_1k == pytest.approx(1000 * part.mean(), abs=1e-4)
        assert float(money) == pytest.approx(1000 * part.mean() * 0.04 / 3600, rel=1e-3)
    assert v1[5] == "not reported by the serving host" and float(v2[5]) == pytest.approx(50.0)
    assert unpriced[0][6] == "no prices (INFERWATCH_COST_*)"
