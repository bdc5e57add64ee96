"""``inferwatch alerts``: follow the alerts topic and print each alert as one line (for the
demo and on-call)."""

from __future__ import annotations

import argparse
import asyncio
import time

import msgspec

from streams.alerting.alert_log import format_alert, format_retrain
from streams.cli.command import Subparsers, add_command, reach
from streams.settings import KafkaSettings
from streams.wire.events import Alert, RetrainRequested
from streams.wire.topics import Topics


def add_to(sub: Subparsers) -> None:
    """Add ``alerts``."""
    a = add_command(sub, "alerts", _alerts, help="print alerts as they fire, one line each",
                    description="Follow the alerts topic and print each alert.",
                    example="inferwatch alerts --seconds 600")
    a.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")


def _alerts(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    reach(kafka)
    asyncio.run(follow_alerts(kafka, seconds=args.seconds))
    return 0


async def follow_alerts(settings: KafkaSettings, *, seconds: float = 0) -> int:
    """Print alerts and retrain requests from now on; stop after ``seconds`` (0: never)."""
    from streams.kafka import clients as kafka_clients
    topics = Topics(settings.topic_prefix)
    consumer = kafka_clients.reader(settings, topics.alerts, topics.retrain, from_start=False)
    await consumer.start()
    printed = 0
    deadline = time.monotonic() + seconds if seconds > 0 else float("inf")
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for msgs in batches.values():
                for m in msgs:
                    print(_line(m.topic == topics.retrain, m.value or b"", m.offset), flush=True)
                    printed += 1
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
    return printed


def _line(is_retrain: bool, raw: bytes, offset: int) -> str:
    try:
        if is_retrain:
            req = msgspec.json.decode(raw, type=RetrainRequested)
            return format_retrain(req)
        return format_alert(msgspec.json.decode(raw, type=Alert))
    except msgspec.MsgspecError as exc:
        return f"(undecodable record at offset {offset}: {exc})"
