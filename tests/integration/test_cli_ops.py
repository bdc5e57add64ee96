"""``inferwatch doctor`` and ``inferwatch status`` on the real broker, run as the CLI.

Doctor is tested on each failure an operator meets: the broker down, a topic with the
wrong partition count, the embedded ClickHouse path held by another process, and an
Alertmanager URL that refuses connections; each failed line names the setting to fix.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import Alert, DetectorReport
from streams.wire.topics import ROLES as TOPIC_ROLES

REPO = Path(__file__).resolve().parents[2]
#: another process that opens an embedded ClickHouse path and keeps it
_HOLDER = """import sys, time
from streams.storage.clickhouse_store import ClickHouseStore
held = ClickHouseStore("chdb://" + sys.argv[1])
held.query("SELECT 1")
print("holding", flush=True)
time.sleep(120)
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO),
                                                       **env})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(out: str, start: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith(start)]


async def _topics_with_a_wrong_one(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"{prefix}requests", 2, 1)])
    finally:
        await admin.close()
    await create_topics(KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix))


def test_doctor_names_the_setting_to_fix_for_each_failure(bootstrap: str, tmp_path: Path
                                                          ) -> None:
    prefix = f"doc-{uuid.uuid4().hex[:8]}."
    asyncio.run(_topics_with_a_wrong_one(bootstrap, prefix))
    chdb = tmp_path / "chdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(chdb)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        refusing = f"http://127.0.0.1:{_closed_port()}"
        done = _cli({"INFERWATCH_KAFKA_BOOTSTRAP": bootstrap,
                     "INFERWATCH_KAFKA_TOPIC_PREFIX": prefix,
                     "INFERWATCH_CLICKHOUSE_PATH": str(chdb),
                     "INFERWATCH_ALERTING_ALERTMANAGER_URL": refusing}, "doctor")
    finally:
        holder.kill()
        holder.wait()
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert _lines(out, "ok   kafka: ")
    (wrong,) = _lines(out, "FAIL topic ")
    assert wrong.startswith(f"FAIL topic {prefix}requests: 2 partitions, the loops need 6")
    assert "INFERWATCH_KAFKA_TOPIC_PREFIX" in wrong
    # every other topic of the pipeline is there with its partitions
    assert len(_lines(out, "ok   topic ")) == len(TOPIC_ROLES) - 1
    (ch,) = _lines(out, "FAIL clickhouse: ")
    assert "in use by another process" in ch and "INFERWATCH_CLICKHOUSE_PATH" in ch
    (am,) = _lines(out, "FAIL alertmanager: ")
    assert refusing in am and am.endswith("-> fix: INFERWATCH_ALERTING_ALERTMANAGER_URL")
    assert done.stderr == ""  # one line per check; no client logs on top

    down = _cli({"INFERWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{_closed_port()}",
                 "INFERWATCH_CLICKHOUSE_PATH": str(chdb)}, "doctor")
    assert down.returncode == 1
    (kafka,) = _lines(down.stdout, "FAIL kafka: no broker answers at 127.0.0.1:")
    assert kafka.endswith("-> fix: INFERWATCH_KAFKA_BOOTSTRAP (host:port of a running broker)")
    # the rest is still checked: the chDB path is free now
    assert _lines(down.stdout, "ok   clickhouse: embedded chDB at ")
    assert _lines(down.stdout, "ok   alert sinks: none configured")


async def _history(bootstrap: str, prefix: str) -> None:
    await create_topics(KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(5):
            report = DetectorReport(detector="latency_quantile", model="churn", variant="A",
                                    segment="*", window_start=100.0 + 10 * i,
                                    window_end=110.0 + 10 * i, n=1000 + i, statistic=0.1,
                                    threshold=0.25, decision="ok")
            await producer.send_and_wait(f"{prefix}detector-reports", encode(report),
                                         key=b"churn", partition=i % 3)
        fire = Alert(fingerprint="fp-a", status="firing", severity="page", labels={},
                     annotations={"summary": "churn/A input drift in f2"}, starts_at=120.0)
        other = Alert(fingerprint="fp-b", status="firing", severity="page", labels={},
                      annotations={"summary": "ranker/A latency"}, starts_at=130.0)
        done = Alert(fingerprint="fp-b", status="resolved", severity="page", labels={},
                     annotations={"summary": "ranker/A latency"}, starts_at=130.0,
                     ends_at=140.0)
        for alert in (fire, other, done):
            await producer.send_and_wait(f"{prefix}alerts", encode(alert), key=b"fp")
    finally:
        await producer.stop()
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"{prefix}sink",
                             enable_auto_commit=False)
    await group.start()
    try:  # the sink has stored 1 of the 3 alerts
        tp = TopicPartition(f"{prefix}alerts", 0)
        group.assign([tp])
        await group.commit({tp: OffsetAndMetadata(1, "")})
    finally:
        await group.stop()


def test_status_shows_lag_last_windows_and_open_incidents(bootstrap: str) -> None:
    prefix = f"st-{uuid.uuid4().hex[:8]}."
    asyncio.run(_history(bootstrap, prefix))
    started = time.time()
    done = _cli({"INFERWATCH_KAFKA_BOOTSTRAP": bootstrap,
                 "INFERWATCH_KAFKA_TOPIC_PREFIX": prefix}, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    lag = lines.index("consumer lag (records not yet processed):")
    assert lines[lag + 1].split() == [f"{prefix}sink", f"{prefix}alerts", "2"]
    (window,) = [ln for ln in lines if ln.startswith("  churn/A")]
    assert "1970-01-01 00:02:30Z, 1004 predictions" in window  # the last of the five
    assert float(window.split()[1]) >= started - 150.0
    opened = lines.index("open incidents: 1")
    assert "churn/A input drift in f2" in lines[opened + 1] and "fp=fp-a" in lines[opened + 1]
