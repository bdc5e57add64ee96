"""``inferwatch doctor``: check what a worker needs, one line per check.

Kafka (the connection, every topic and its partition count), ClickHouse (the embedded
path or the server answers a query) and each configured alert sink (Alertmanager, the
webhook, Slack, PagerDuty: reachable, without sending anything). A failed check names
the setting to fix. The verdicts on what the broker describes are pure
(:func:`topic_checks`); the rest asks the thing checked.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streams.cli.command import Subparsers, add_command
from streams.settings import AlertingSettings, ClickHouseSettings, KafkaSettings, load
from streams.wire.topics import Topics

_TIMEOUT_S = 5.0
#: the broker's error code for a topic that does not exist
_UNKNOWN_TOPIC_OR_PARTITION = 3


def add_to(sub: Subparsers) -> None:
    """Add ``doctor``."""
    add_command(sub, "doctor", _doctor,
                help="check Kafka, the topics, ClickHouse and the alert sinks",
                description="One line per check: the Kafka connection, every topic and its "
                            "partition count, ClickHouse, each configured alert sink. A "
                            "failed check names the setting to fix; the exit status is 1 if "
                            "any failed.",
                example="INFERWATCH_ALERTING_ALERTMANAGER_URL=http://127.0.0.1:9093 "
                        "inferwatch doctor")


def _doctor(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    checks = run_checks(kafka, load(ClickHouseSettings), load(AlertingSettings))
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


@dataclass(frozen=True)
class Check:
    """One check's verdict: ``fix`` says which setting (or step) repairs a failure."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``ok   kafka: ...`` or ``FAIL kafka: ... -> fix: ...``."""
        text = f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text} -> fix: {self.fix}"


def run_checks(kafka: KafkaSettings, clickhouse: ClickHouseSettings,
               alerting: AlertingSettings) -> list[Check]:
    """Every check, in the order a worker needs them."""
    return [*asyncio.run(kafka_checks(kafka)), clickhouse_check(clickhouse),
            *alert_sink_checks(alerting)]


async def kafka_checks(settings: KafkaSettings) -> list[Check]:
    """The broker answers; every topic exists with the partition count the loops need."""
    from aiokafka.errors import KafkaError

    from streams.kafka import clients as kafka_clients
    topics = Topics(settings.topic_prefix)
    admin = kafka_clients.admin(settings, request_timeout_ms=int(_TIMEOUT_S * 1000))
    try:
        await asyncio.wait_for(admin.start(), _TIMEOUT_S)
        described = await asyncio.wait_for(admin.describe_topics(
            [name for name, _ in topics.specs()]), _TIMEOUT_S)
        brokers = len((await asyncio.wait_for(admin.describe_cluster(), _TIMEOUT_S))["brokers"])
    except (KafkaError, OSError, TimeoutError) as exc:
        return [Check("kafka", False, f"no broker answers at {settings.bootstrap} "
                      f"({type(exc).__name__}: {exc})",
                      "INFERWATCH_KAFKA_BOOTSTRAP (host:port of a running broker)")]
    finally:
        await admin.close()
    return [Check("kafka", True, f"{settings.bootstrap}, {brokers} broker(s)"),
            *topic_checks(topics, described)]


def topic_checks(topics: Topics, described: Iterable[Mapping[str, Any]]) -> list[Check]:
    """One verdict per topic of ``topics`` on what the broker ``described`` of them
    (``describe_topics``: each one's ``topic``, ``error_code`` and ``partitions``)."""
    counts = {t["topic"]: (t["error_code"], len(t["partitions"])) for t in described}
    checks = []
    for name, spec in topics.specs():
        error, found = counts.get(name, (_UNKNOWN_TOPIC_OR_PARTITION, 0))
        if error == _UNKNOWN_TOPIC_OR_PARTITION:
            checks.append(Check(f"topic {name}", False, "missing",
                                "run `inferwatch topics` (or a worker), or set "
                                "INFERWATCH_KAFKA_TOPIC_PREFIX to the deployment's prefix"))
        elif found != spec.partitions:
            checks.append(Check(
                f"topic {name}", False, f"{found} partitions, the loops need {spec.partitions}",
                f"recreate the topic with {spec.partitions} partitions, or set "
                "INFERWATCH_KAFKA_TOPIC_PREFIX to a prefix whose topics are right"))
        else:
            checks.append(Check(f"topic {name}", True, f"{found} partitions"))
    return checks


def clickhouse_check(settings: ClickHouseSettings) -> Check:
    """ClickHouse answers ``SELECT 1``: the server at the URL, or the embedded path."""
    from streams.storage.clickhouse_store import ClickHouseStore
    where = settings.url or f"embedded chDB at {settings.path}"
    holder = None if settings.url else chdb_holder(settings.path)
    if holder is not None:
        return Check("clickhouse", False, f"{where} is in use by another process ({holder}; "
                     "a running worker's sink?): chDB allows one process per path",
                     "stop that process, or set INFERWATCH_CLICKHOUSE_PATH to another "
                     "folder, or INFERWATCH_CLICKHOUSE_URL to a ClickHouse server")
    try:
        store = ClickHouseStore(settings.dsn)
        try:
            store.query("SELECT 1")
        finally:
            store.close()
    except Exception as exc:  # the driver raises many kinds; each becomes a line
        text = str(exc) or type(exc).__name__
        return Check("clickhouse", False, f"{where}: {text.splitlines()[0][:200]}",
                     "INFERWATCH_CLICKHOUSE_URL" if settings.url else "INFERWATCH_CLICKHOUSE_PATH")
    return Check("clickhouse", True, where)


def chdb_holder(path: Path) -> str | None:
    """Who holds the embedded engine's lock on ``path`` (``PID: n``), or None if free.

    The engine keeps an exclusive ``flock`` on ``<path>/status`` while it runs, and
    writes its PID there; asking the lock first keeps a second engine from starting
    (and printing its own complaint).
    """
    status = path / "status"
    try:
        with status.open("rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = next((ln.strip() for ln in f.read(4096).decode(errors="replace")
                            .splitlines() if ln.startswith("PID:")), "PID unknown")
                return pid
            fcntl.flock(f, fcntl.LOCK_UN)
    except FileNotFoundError:
        return None
    return None


def alert_sink_checks(settings: AlertingSettings) -> Iterator[Check]:
    """Each configured sink is reachable; nothing is posted."""
    from streams.alerting.notifiers.pagerduty import EVENTS_V2_URL
    configured = False
    if settings.alertmanager_url:
        configured = True
        url = settings.alertmanager_url.rstrip("/") + "/api/v2/status"
        yield _http_check("alertmanager", url, "INFERWATCH_ALERTING_ALERTMANAGER_URL")
    if settings.webhook_url:
        configured = True
        yield _reach_check("webhook", settings.webhook_url, "INFERWATCH_ALERTING_WEBHOOK_URL")
    if settings.slack_webhook_url is not None:
        configured = True
        yield _reach_check("slack", settings.slack_webhook_url.get_secret_value(),
                           "INFERWATCH_ALERTING_SLACK_WEBHOOK_URL", show_url=False)
    if settings.pagerduty_routing_key is not None:
        configured = True
        yield _reach_check("pagerduty", EVENTS_V2_URL, "network access to PagerDuty "
                           "(INFERWATCH_ALERTING_PAGERDUTY_ROUTING_KEY is set)")
    if not configured:
        yield Check("alert sinks", True, "none configured: alerts only go to the alerts topic "
                    "and the worker's log")


def _http_check(name: str, url: str, setting: str) -> Check:
    import httpx
    try:
        response = httpx.get(url, timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return Check(name, False, f"{url}: {type(exc).__name__}: {exc}", setting)
    if response.status_code >= 400:
        return Check(name, False, f"{url} answered HTTP {response.status_code}", setting)
    return Check(name, True, f"{url} answered HTTP {response.status_code}")


def _reach_check(name: str, url: str, setting: str, *, show_url: bool = True) -> Check:
    """A TCP connection to the URL's host and port (a POST would send a notification)."""
    parts = urlsplit(url)
    shown = url if show_url else f"{parts.scheme}://{parts.hostname}/..."  # the path is a secret
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not parts.hostname:
        return Check(name, False, f"{shown} has no host", setting)
    try:
        with socket.create_connection((parts.hostname, port), timeout=_TIMEOUT_S):
            pass
    except OSError as exc:
        return Check(name, False, f"{shown}: cannot connect ({exc})", setting)
    return Check(name, True, f"{shown} accepts connections")
