"""``inferwatch summary`` and the HTML report show a regression's MAE, RMSE and bias
against the reference, read back from ClickHouse (embedded chDB, the real schema)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli.summary import summarise
from streams.report.html import _QUERIES
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import _MAPPINGS, _SOURCE
from tests.unit.deploy.test_grafana_dashboard import _report


@pytest.fixture
def store(tmp_path: Path) -> ClickHouseStore:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    store.apply_schema()
    reports = [_report(0, 100.0, "regression_error", "A", "*", 0.81, "ok",
                       {"mae": 0.81, "rmse": 1.0, "bias": 0.02, "reference_mae": 0.8}),
               _report(1, 200.0, "regression_error", "A", "*", 2.5, "drift",
                       {"mae": 2.5, "rmse": 2.7, "bias": -2.4, "reference_mae": 0.8}),
               _report(2, 300.0, "feature_drift", "A", "*", 0.3, "drift", {})]
    store.insert("detector_reports", (*_MAPPINGS["detector-reports"].columns, *_SOURCE),
                 reports, token="r")
    return store


def test_the_summary_gives_the_last_windows_errors(store: ClickHouseStore) -> None:
    try:
        assert summarise(store)["errors"] == [("churn", 2.5, 2.7, -2.4, 0.8)]
    finally:
        store.close()


def test_the_report_lists_flagged_windows_first(store: ClickHouseStore) -> None:
    title = next(t for t in _QUERIES if t.startswith("Regression errors"))
    try:
        rows = store.query(_QUERIES[title][1])
    finally:
        store.close()
    assert [r[1:] for r in rows] == [("churn", "A", 2.5, 0.8, 2.7, -2.4, 1000, "yes"),
                                     ("churn", "A", 0.81, 0.8, 1.0, 0.02, 1000, "no")]
