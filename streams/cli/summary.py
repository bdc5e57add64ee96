"""``inferwatch summary``: a short summary of a run, read back from ClickHouse."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from streams.cli.command import Subparsers, add_command
from streams.settings import ClickHouseSettings, KafkaSettings, load

if TYPE_CHECKING:
    from streams.storage.clickhouse_store import ClickHouseStore

_QUERIES = {
    "predictions": "SELECT model, count(), quantile(0.5)(total_s), quantile(0.99)(total_s) "
                   "FROM predictions GROUP BY model ORDER BY model",
    "alerts": "SELECT status, count() FROM alerts GROUP BY status ORDER BY status",
    "retrain": "SELECT count() FROM retrain_events",
    "dead": "SELECT kind, count() FROM dead_letters GROUP BY kind ORDER BY kind",
    "outcomes": "SELECT count() FROM outcomes",
    # a regression's last window: its MAE, RMSE and bias against the reference MAE
    "errors": "SELECT model, argMax(statistic, window_end), "
              "argMax(JSONExtractFloat(evidence, 'rmse'), window_end), "
              "argMax(JSONExtractFloat(evidence, 'bias'), window_end), "
              "argMax(JSONExtractFloat(evidence, 'reference_mae'), window_end) "
              "FROM detector_reports WHERE detector = 'regression_error' "
              "GROUP BY model ORDER BY model",
    "reports": "SELECT detector, countIf(decision != 'ok'), count() FROM detector_reports "
               "GROUP BY detector ORDER BY detector",
}


def add_to(sub: Subparsers) -> None:
    """Add ``summary``."""
    add_command(sub, "summary", _summary, help="print a summary read back from ClickHouse",
                description="Events, latency quantiles, alerts and retrain events from "
                            "ClickHouse. Needs the worker stopped when using embedded chDB.",
                example="INFERWATCH_CLICKHOUSE_PATH=var/demo/chdb inferwatch summary")


def _summary(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    print_summary(load(ClickHouseSettings))
    return 0


def summarise(store: ClickHouseStore) -> dict[str, list[tuple[Any, ...]]]:
    """The raw figures of the summary."""
    store.apply_schema()
    return {name: store.query(sql) for name, sql in _QUERIES.items()}


def print_summary(settings: ClickHouseSettings) -> None:
    """Print the summary of what ClickHouse holds."""
    from streams.storage.clickhouse_store import ClickHouseStore
    store = ClickHouseStore.open(settings)
    try:
        figures = summarise(store)
    finally:
        store.close()
    print("== inferwatch summary (from ClickHouse) ==")
    for model, n, p50, p99 in figures["predictions"]:
        print(f"predictions  {model:10} {n:>8} events   latency p50 {p50 * 1000:8.1f} ms"
              f"   p99 {p99 * 1000:8.1f} ms")
    for model, mae, rmse, bias, reference in figures["errors"]:
        print(f"errors       {model:10} MAE {mae:.4g} (reference {reference:.4g})   "
              f"RMSE {rmse:.4g}   bias {bias:+.4g}   (last window)")
    for detector, bad, total in figures["reports"]:
        print(f"reports      {detector:18} {bad:>4} of {total:>4} windows flagged")
    alerts = dict(figures["alerts"])
    print(f"alerts       firing {alerts.get('firing', 0)}, resolved {alerts.get('resolved', 0)}")
    print(f"retrain      {figures['retrain'][0][0]} requested")
    print(f"outcomes     {figures['outcomes'][0][0]} joined-ready labels")
    dead = ", ".join(f"{k} {n}" for k, n in figures["dead"]) or "none"
    print(f"dead letters {dead}")
