"""``inferwatch status``: consumer lag per group, the last window per model, open incidents.

Read from Kafka alone, so it answers while a worker runs (the embedded ClickHouse is
then locked by the worker's sink). The folds are pure; :func:`gather` does the reading.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streams.alerting.alert_log import format_alert
from streams.cli.command import Subparsers, add_command
from streams.report.utc_time import utc_stamp
from streams.settings import KafkaSettings
from streams.wire.events import Alert, DetectorReport
from streams.wire.topics import Topics

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

#: detector reports read back per partition to find each model's last window
_REPORT_TAIL = 2000


def add_to(sub: Subparsers) -> None:
    """Add ``status``."""
    add_command(sub, "status", _status,
                help="consumer lag, the last window per model, open incidents",
                description="Read from Kafka (works while a worker runs): the lag of each "
                            "inferwatch consumer group per topic, the last window closed per "
                            "model and variant, and the incidents still firing.",
                example="watch -n 5 inferwatch status")


def _status(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    print("\n".join(run(kafka, time.time())))
    return 0


@dataclass
class Status:
    """What ``inferwatch status`` prints."""

    lag: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> topic -> lag
    windows: dict[tuple[str, str], DetectorReport] = field(default_factory=dict)
    open_alerts: list[Alert] = field(default_factory=list)

    def lines(self, now: float) -> list[str]:
        out = ["consumer lag (records not yet processed):"]
        out += [f"  {group:32} {topic:32} {n:>10}" for group, topics in sorted(self.lag.items())
                for topic, n in sorted(topics.items())] or ["  no consumer groups yet"]
        out.append("last window closed:")
        out += [f"  {model}/{variant:10} {_ago(r.window_end, now)} ({utc_stamp(r.window_end)}, "
                f"{r.n} predictions)" for (model, variant), r in sorted(self.windows.items())
                ] or ["  none yet"]
        out.append(f"open incidents: {len(self.open_alerts)}")
        out += [f"  {format_alert(a)}" for a in self.open_alerts]
        return out


def open_incidents(alerts: Iterable[Alert]) -> list[Alert]:
    """The alerts whose latest state is firing, in the order they fired.

    >>> import msgspec
    >>> fire = Alert(fingerprint="a", status="firing", severity="page", labels={},
    ...              annotations={}, starts_at=1.0)
    >>> other = msgspec.structs.replace(fire, fingerprint="b", starts_at=2.0)
    >>> done = msgspec.structs.replace(fire, status="resolved", ends_at=3.0)
    >>> [a.fingerprint for a in open_incidents([fire, other, done])]
    ['b']
    """
    latest: dict[str, Alert] = {}
    for alert in alerts:
        latest.pop(alert.fingerprint, None)  # re-insert: the order is the latest change's
        latest[alert.fingerprint] = alert
    return sorted((a for a in latest.values() if a.status == "firing"),
                  key=lambda a: a.starts_at)


def last_windows(reports: Iterable[DetectorReport]) -> dict[tuple[str, str], DetectorReport]:
    """The report of the latest window per (model, variant)."""
    out: dict[tuple[str, str], DetectorReport] = {}
    for r in reports:
        key = (r.model, r.variant)
        if key not in out or r.window_end > out[key].window_end:
            out[key] = r
    return out


async def gather(settings: KafkaSettings) -> Status:
    """Read the lag of every inferwatch group, the reports' tail and the alerts topic."""
    from streams.kafka import clients as kafka_clients
    from streams.kafka.topic_reader import decode_values, partition_counts, read_values
    topics = Topics(settings.topic_prefix)
    consumer = kafka_clients.reader(settings)
    admin = kafka_clients.admin(settings)
    await consumer.start()
    try:
        await admin.start()
        status = Status(lag=await _lag(admin, consumer, settings.topic_prefix))
    finally:
        await admin.close()
        await consumer.stop()
    counts = await partition_counts(settings, [topics.reports, topics.alerts])
    reports = await read_values(settings, topics.reports, counts.get(topics.reports, 0),
                                tail=_REPORT_TAIL)
    status.windows = last_windows(decode_values(reports, DetectorReport))
    alerts = await read_values(settings, topics.alerts, counts.get(topics.alerts, 0))
    status.open_alerts = open_incidents(decode_values(alerts, Alert))
    return status


async def _lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, prefix: str
               ) -> dict[str, dict[str, int]]:
    groups = sorted(g[0] for g in await admin.list_consumer_groups()
                    if g[0].startswith(prefix))
    out: dict[str, dict[str, int]] = {}
    for group in groups:
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(list(committed)) if committed else {}
        per_topic: dict[str, int] = {}
        for tp, meta in committed.items():
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, ends[tp] - meta.offset)
        out[group] = per_topic
    return out


def _ago(ts: float, now: float) -> str:
    return f"{max(0.0, now - ts):8.1f} s ago"


def run(settings: KafkaSettings, now: float) -> list[str]:
    """The status as printed lines."""
    return asyncio.run(gather(settings)).lines(now)
