"""The HTML report: real ClickHouse rows in, one escaped page out."""

from __future__ import annotations

from pathlib import Path

from streams.clickhouse_store import ClickHouseStore
from streams.html_report import collect, render
from streams.metric_rows import _MAPPINGS

SRC = ("src_partition", "src_offset")


def test_report_explains_flagged_windows_and_escapes_event_text(tmp_path: Path) -> None:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        pred_cols = (*_MAPPINGS["predictions"].columns, *SRC)
        store.insert("predictions", pred_cols, [
            [f"r{i}", 100.0 + i, "churn", "A", "v1", 1, 0.7, 0.001, 0.002, 0.01 * (i + 1),
             None, 4, "cpu", {}, "", {}, None, 0, i] for i in range(100)], token="p")
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
