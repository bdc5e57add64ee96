"""On a SASL_SSL broker (SCRAM-SHA-512, certificates made at test time, StandardAuthorizer):
the pipeline runs end to end; clients without credentials or with a wrong password are
refused at start, in one line that never shows the password; a principal allowed only to
produce requests cannot write alerts or model updates."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import msgspec
import pytest
from aiokafka.errors import TopicAuthorizationFailedError

from streams.errors import KafkaAccessError
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.events import Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume
from tests.integration.script_kafka import ScriptKafka, env_of

N = 1500


def test_the_pipeline_runs_over_sasl_ssl_with_scram(
        secured_kafka: ScriptKafka, worker_env: dict[str, str], tmp_path: Path) -> None:
    kafka = secured_kafka.settings(secured_kafka.acl_topic_prefix)  # as admin, the worker's user
    topics = Topics(kafka.topic_prefix)
    worker = Worker({**worker_env, **env_of(kafka)}, tmp_path / "worker.log")
    try:
        worker.start(timeout=150)
        asyncio.run(simulate(kafka, Scenario(count=N, seed=5, run_id="sasl")))

        def ours(records: list) -> list[str]:  # type: ignore[type-arg]
            ids = (msgspec.json.decode(m.value, type=Prediction).request_id for m in records)
            return [i for i in ids if i.startswith("sasl-")]
        asyncio.run(consume(kafka, topics.predictions, until=lambda r: len(ours(r)) >= N,
                            timeout=120))
        ids = ours(asyncio.run(consume(kafka, topics.predictions, until=lambda r: False,
                                       timeout=3)))
        assert sorted(ids) == [f"sasl-{i:09d}" for i in range(N)], worker.tail()
        assert worker.stop() == 0, worker.tail()
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()
    log = worker.log.read_text()
    assert "Authenticated as admin via SCRAM-SHA-512" in log
    assert secured_kafka.password("admin") not in log


def test_no_credentials_and_a_wrong_password_are_refused_at_start(
        secured_kafka: ScriptKafka, worker_env: dict[str, str]) -> None:
    prefix = secured_kafka.acl_topic_prefix
    # TLS but no SASL: the broker answers the handshake, then refuses every request
    anonymous = KafkaSettings(bootstrap=secured_kafka.bootstrap, security_protocol="SSL",
                              ssl_cafile=secured_kafka.ca, topic_prefix=prefix)
    with pytest.raises(KafkaAccessError, match="refused its requests") as info:
        asyncio.run(kafka_clients.check_access(anonymous))
    assert not info.value.retriable
    plaintext = KafkaSettings(bootstrap=secured_kafka.bootstrap, topic_prefix=prefix)
    with pytest.raises(KafkaAccessError, match="closed the connection during the handshake"):
        asyncio.run(kafka_clients.check_access(plaintext))

    # the worker with a wrong password: exits once, at start, with one line naming the
    # user and the setting to check, and the password nowhere in its output
    wrong = f"wrong-{uuid.uuid4().hex}"
    settings = secured_kafka.settings(prefix, sasl_password=wrong)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker"],
                          env={**worker_env, **env_of(settings)}, capture_output=True,
                          text=True, timeout=120, cwd=worker_env["INFERWATCH_TEST_DIR"])
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert ("inferwatch: Kafka at 127.0.0.1:" in output and "refused the credentials of "
            "INFERWATCH_KAFKA_SASL_USERNAME='admin' (SCRAM-SHA-512): check "
            "INFERWATCH_KAFKA_SASL_PASSWORD" in output), output
    assert "Traceback" not in output and wrong not in output
    print(f"\nwrong password: worker exited {done.returncode} after "
          f"{time.monotonic() - started:.1f} s with: {done.stderr.strip().splitlines()[-1]}")


def test_a_requests_producer_cannot_write_alerts_or_model_updates(
        secured_kafka: ScriptKafka) -> None:
    prefix = secured_kafka.acl_topic_prefix
    topics = Topics(prefix)
    asyncio.run(kafka_clients.create_topics(secured_kafka.settings(prefix)))
    producer_only = secured_kafka.settings(prefix, user="requests")

    async def send(topic: str) -> None:
        producer = kafka_clients.producer(producer_only)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"{}", key=b"acl-probe")
        finally:
            await producer.stop()

    asyncio.run(send(topics.requests))  # allowed: lands (and is dead-lettered, not our point)
    for topic in (topics.alerts, topics.model_updates):
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(send(topic))
    # and it cannot read what the worker writes either
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(consume(producer_only, topics.predictions, until=lambda r: False,
                            timeout=3))
