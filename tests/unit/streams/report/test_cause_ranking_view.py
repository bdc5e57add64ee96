"""The report shows each drift's causes ranked by estimated cost (issue 24, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

from streams.report.queries import cause_rankings
from streams.report.views import ReportData, what_moved
from streams.storage.clickhouse_store import ClickHouseStore

LINE = ("by estimated cost: f5 +3.1 pts error (PSI 0.21), f2 in region=eu +0.4 pts error "
        "(PSI 4.6), f1 +0.0 pts error (PSI 0.12)")


def test_the_ranking_is_listed_in_order_and_escaped() -> None:
    data = ReportData(causes=[("churn", "A", 10.0, LINE), ("x<y", "B", 5.0, "")])
    html = what_moved(data)
    assert "<h3>Causes by estimated cost</h3>" in html
    assert ("<ol class='causes'><li>f5 +3.1 pts error (PSI 0.21)</li>"
            "<li>f2 in region=eu +0.4 pts error (PSI 4.6)</li>"
            "<li>f1 +0.0 pts error (PSI 0.12)</li></ol>") in html
    assert "x&lt;y/B" in html and "<ol class='causes'></ol>" in html
    assert what_moved(ReportData()) == "<p>No input drift was flagged.</p>"


def test_the_latest_flagged_windows_ranking_is_read_per_model(tmp_path: Path) -> None:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        cols = ("ts", "detector", "model", "variant", "segment", "window_start",
                "window_end", "n", "statistic", "threshold", "decision", "evidence")
        rows = [(t, "feature_drift", "churn", "A", "*", t - 1, t, 500, 0.3, 0.1, decision,
                 json.dumps({"causes": line} if line else {}))
                for t, decision, line in ((10.0, "drift", "old"), (20.0, "drift", LINE),
                                          (30.0, "ok", ""), (40.0, "drift", ""))]
        store.insert("detector_reports", cols, rows, token="t-0")
        assert cause_rankings(store) == [("churn", "A", 20.0, LINE)]
    finally:
        store.close()


def test_category_drift_and_data_quality_rankings_are_shown_and_read(tmp_path: Path) -> None:
    quality = "by estimated cost: b +3.0 pts error (missing +10.0% of inputs)"
    data = ReportData(category_causes=[("churn", "A", 1.0, "by estimated cost: plan +0.5 pts "
                                        "error (PSI 0.9)")],
                      quality_causes=[("churn", "A", 2.0, quality)])
    html = what_moved(data)
    assert ("<b>churn/A</b> (category drift): <ol class='causes'><li>plan +0.5 pts error "
            "(PSI 0.9)</li></ol>") in html
    assert ("<b>churn/A</b> (data quality): <ol class='causes'><li>b +3.0 pts error "
            "(missing +10.0% of inputs)</li></ol>") in html
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        cols = ("ts", "detector", "model", "variant", "segment", "window_start",
                "window_end", "n", "statistic", "threshold", "decision", "evidence")
        store.insert("detector_reports", cols, [
            (5.0, "data_quality", "churn", "A", "*", 4.0, 5.0, 500, 0.1, 0.01, "breach",
             json.dumps({"causes": quality}))], token="t-1")
        assert cause_rankings(store, "data_quality") == [("churn", "A", 5.0, quality)]
        assert cause_rankings(store) == []
    finally:
        store.close()
