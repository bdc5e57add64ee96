"""Follow the alerts topic and print each alert as one line (for the demo and on-call)."""

from __future__ import annotations

import asyncio
import time

import msgspec
from aiokafka import AIOKafkaConsumer

from streams.alert_log import format_alert
from streams.events import Alert
from streams.settings import KafkaSettings
from streams.topics import Topics


async def follow_alerts(settings: KafkaSettings, *, seconds: float = 0) -> int:
    """Print alerts from the end of the topic on; stop after ``seconds`` (0: never)."""
    consumer = AIOKafkaConsumer(
        Topics(settings.topic_prefix).alerts, bootstrap_servers=settings.bootstrap,
        isolation_level="read_committed", auto_offset_reset="latest", enable_auto_commit=False)
    await consumer.start()
    printed = 0
    deadline = time.monotonic() + seconds if seconds > 0 else float("inf")
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for msgs in batches.values():
                for m in msgs:
                    try:
                        alert = msgspec.json.decode(m.value or b"", type=Alert)
                    except msgspec.MsgspecError as exc:
                        print(f"(undecodable alert at offset {m.offset}: {exc})", flush=True)
                        continue
                    print(format_alert(alert), flush=True)
                    printed += 1
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
    return printed
