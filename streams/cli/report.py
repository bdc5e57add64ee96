"""``inferwatch report``: one HTML page read back from ClickHouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.cli.command import Subparsers, add_command
from streams.settings import (
    ClickHouseSettings,
    CostSettings,
    InferenceSettings,
    KafkaSettings,
    MonitorSettings,
    load,
)


def add_to(sub: Subparsers) -> None:
    """Add ``report``."""
    r = add_command(sub, "report", _report,
                    help="write an HTML report read back from ClickHouse",
                    description="Traffic, latency, every flagged window with its explanation, "
                                "alerts and retrain requests, as one HTML page. Needs the "
                                "worker stopped when using embedded chDB.",
                    example="inferwatch report --out var/report.html && xdg-open "
                            "var/report.html")
    r.add_argument("--out", default="var/report.html", help="where to write it")


def _report(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    from streams.report.html import collect, model_store_profiles, render
    from streams.storage.clickhouse_store import ClickHouseStore
    out = Path(args.out)
    monitor = load(MonitorSettings)
    store = ClickHouseStore.open(load(ClickHouseSettings))
    try:
        page = render(collect(store, profiles=model_store_profiles(
            load(InferenceSettings).model_dir), slo_threshold_s=monitor.slo_threshold_s,
            slo_objective=monitor.slo_objective, prices=load(CostSettings)))
    finally:
        store.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    print(f"wrote {out}")
    return 0
