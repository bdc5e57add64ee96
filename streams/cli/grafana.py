"""``inferwatch grafana``: provision the ClickHouse data source and the dashboard."""

from __future__ import annotations

import argparse
import sys

from streams.cli.command import Subparsers, add_command
from streams.errors import ConfigError, SinkError
from streams.settings import GrafanaSettings, KafkaSettings, load


def add_to(sub: Subparsers) -> None:
    """Add ``grafana``."""
    add_command(sub, "grafana", _grafana,
                help="provision the dashboard and data source in Grafana",
                description="Create or update inferwatch's ClickHouse data source and "
                            "dashboard through Grafana's API (INFERWATCH_GRAFANA_URL, "
                            "INFERWATCH_GRAFANA_TOKEN). Grafana needs a ClickHouse server.",
                example="INFERWATCH_GRAFANA_URL=https://grafana.example.com "
                        "INFERWATCH_GRAFANA_TOKEN=glsa_... inferwatch grafana")


def _grafana(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    from streams.report.grafana import ClickHouseSource, provision
    s = load(GrafanaSettings)
    if s.token is None:
        raise ConfigError("INFERWATCH_GRAFANA_TOKEN: a Grafana service-account token is needed")
    source = ClickHouseSource(host=s.clickhouse_host, port=s.clickhouse_port,
                              protocol=s.clickhouse_protocol, username=s.clickhouse_user,
                              password=s.clickhouse_password)
    try:
        for line in provision(s.url, s.token, source=source, folder_uid=s.folder_uid):
            print(line)
    except SinkError as exc:
        print(f"inferwatch: {exc}", file=sys.stderr)
        return 75 if exc.retriable else 1  # EX_TEMPFAIL: try again later
    return 0
