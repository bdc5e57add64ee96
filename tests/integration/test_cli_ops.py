"""``inferwatch doctor``, ``status`` and ``experiment status`` on the real broker, run as
the CLI.

Doctor is tested on each failure an operator meets: the broker down, a topic with the
wrong partition count, the embedded ClickHouse path held by another process, and an
Alertmanager URL that refuses connections; each failed line names the setting to fix.
Experiment status reads the decisions the decision step writes in transactions, among the
model-updates topic's other events.
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

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from streams.experiments.spec import ExperimentSpec
from streams.experiments.stop import stop_decision
from streams.kafka import clients as kafka_clients
from streams.kafka.clients import create_topics
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import (
    Alert,
    DetectorReport,
    ExperimentDecided,
    ExperimentStarted,
    ModelVersionPublished,
)
from streams.wire.topics import ROLES as TOPIC_ROLES
from streams.wire.topics import Topics

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


def _look(spec: ExperimentSpec, action: str, ts: float, n: int) -> ExperimentDecided:
    """A look of the decision step at ``spec`` (as :func:`stop_decision` builds one)."""
    return msgspec.structs.replace(
        stop_decision(spec, ts), id=f"{spec.name}-{ts}", action=action,
        metric="label_error", test="mixture-sprt-two-sided", estimate=-0.04, lower=-0.07,
        upper=-0.01, p_value=0.003, n_champion=n, n_challenger=n // 4, srm_p_value=0.6,
        reason=f"look at {n}")


async def _decisions(settings: KafkaSettings) -> None:
    """Ten looks at churn-v2 (the last a promote), two at ranker-exp, among other model
    updates; the looks in transactions as the decision step writes them, the last one
    committed (its marker ends the topic) and one aborted (never read)."""
    await create_topics(settings)
    topic = Topics(settings.topic_prefix).model_updates
    churn = ExperimentSpec("churn-v2", "churn", "A", "B", 0.2)
    ranker = ExperimentSpec("ranker-exp", "ranker", "A", "B", 0.5)
    looks = [_look(churn, "continue", 100.0 + i, 400 * (i + 1)) for i in range(9)]
    looks += [_look(ranker, "continue", 105.0, 800), _look(ranker, "continue", 106.0, 900)]
    others = [ExperimentStarted(experiment="churn-v2", model="churn", champion="A",
                                challenger="B", share=0.2, challenger_version="v2", ts=99.0),
              ModelVersionPublished(model="churn", version="v2", artifact="m.pt", ts=99.5)]
    producer = kafka_clients.producer(settings, transactional_id=f"{topic}-test")
    await producer.start()
    try:
        for event in [*others, *looks]:
            async with producer.transaction():
                await producer.send(topic, encode(event), key=event.model.encode())
        await producer.begin_transaction()
        await producer.send(topic, encode(_look(churn, "rollback", 120.0, 9)), key=b"churn")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, encode(_look(churn, "promote", 110.0, 4000)),
                                key=b"churn")
    finally:
        await producer.stop()


def test_experiment_status_shows_each_experiments_last_look_or_decision(bootstrap: str
                                                                       ) -> None:
    prefix = f"ex-{uuid.uuid4().hex[:8]}."
    settings = KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix)
    env = {"INFERWATCH_KAFKA_BOOTSTRAP": bootstrap, "INFERWATCH_KAFKA_TOPIC_PREFIX": prefix}
    (none,) = _cli(env, "experiment", "status").stdout.splitlines()
    assert none.startswith("no experiment has been judged yet")
    asyncio.run(_decisions(settings))
    done = _cli(env, "experiment", "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "experiment churn-v2: model churn, champion A, challenger B: PROMOTE (look at 4000) "
        "at 1970-01-01 00:01:50Z",
        "  label_error: challenger - champion -0.0400 [-0.0700, -0.0100], p 0.003 "
        "(mixture-sprt-two-sided)",
        "  samples: A 4000, B 1000; sample-ratio p 0.6",
        "experiment ranker-exp: model ranker, champion A, challenger B: CONTINUE (look at 900) "
        "at 1970-01-01 00:01:46Z",
        "  label_error: challenger - champion -0.0400 [-0.0700, -0.0100], p 0.003 "
        "(mixture-sprt-two-sided)",
        "  samples: A 900, B 225; sample-ratio p 0.6"]
