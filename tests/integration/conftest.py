"""Fixtures for tests on the real Apache Kafka broker that `make test` starts.

Each test gets its own topic prefix, model store and ClickHouse folder, and runs the
real worker (`python -m streams.cli worker`) as a subprocess it can stop or kill -9.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.events import Alert
from streams.wire.topics import Topics
from tests.integration import script_kafka
from tests.integration.script_kafka import ScriptKafka

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = os.environ.get("INFERWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path) and "alertmanager" not in item.keywords:
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def bootstrap() -> str:
    async def probe() -> None:
        admin = kafka_clients.admin(KafkaSettings(bootstrap=BOOTSTRAP), request_timeout_ms=5000)
        await admin.start()
        await admin.list_topics()
        await admin.close()
    try:
        asyncio.run(asyncio.wait_for(probe(), 20))
    except Exception as exc:
        pytest.fail(f"Kafka is not answering at {BOOTSTRAP} ({exc!r}); run `make test`, "
                    "which starts it, or `make kafka-start`", pytrace=False)
    return BOOTSTRAP


@pytest.fixture(scope="module")
def secured_kafka() -> Iterator[ScriptKafka]:
    """A SASL_SSL (SCRAM-SHA-512) node with ACLs, started by kafka.sh for the module that
    uses it (its JVM is gone before the next module starts)."""
    broker = script_kafka.secure()
    broker.start()
    yield broker
    broker.clean()


@pytest.fixture(scope="module")
def kafka_cluster() -> Iterator[ScriptKafka]:
    """A three-node KRaft cluster, started by kafka.sh for the module that uses it."""
    brokers = script_kafka.cluster()
    brokers.start()
    yield brokers
    brokers.clean()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store with the demo classifier trained once for the session."""
    root = tmp_path_factory.mktemp("models")
    env = {**os.environ, "INFERWATCH_INFERENCE_MODEL_DIR": str(root),
           "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "streams.cli", "train", "--rows", "8000"],
                   env=env, check=True, capture_output=True, timeout=300)
    return root


class Worker:
    """The real worker process, with its environment and log."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90, roles: str | None = None) -> None:
        """Start ``streams.cli worker`` (all roles, or ``roles``); wait for its loops."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        handle = self.log.open("ab")
        args = [] if roles is None else ["--roles", roles]
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", *args],
                                     env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                                     cwd=self.env["INFERWATCH_TEST_DIR"])
        markers = ["inference loop started", "monitor loop started", "decide loop started",
                   "sink started", "health loop started"]
        if roles is not None:
            markers = [m for m in markers if m.split()[0] in roles.split(",")]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode("utf-8", "replace")
            if all(m in text for m in markers):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(f"worker did not start; log tail:\n{self.tail()}")

    def stop(self, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"worker ignored SIGTERM; log tail:\n{self.tail()}") from None
        return self.proc.returncode

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture
def worker_env(model_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment of one test's worker, but where Kafka is: own model store and
    ClickHouse folder, short sessions."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "INFERWATCH_TEST_DIR": str(tmp_path),
        "INFERWATCH_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "INFERWATCH_INFERENCE_MODEL_DIR": str(model_dir),
        "INFERWATCH_CLICKHOUSE_PATH": str(tmp_path / "chdb"),
        "INFERWATCH_MONITOR_WINDOW_SIZE": "1000",
        "INFERWATCH_MONITOR_SUMMARY_SIZE": "250",
    }


@pytest.fixture
def env(bootstrap: str, worker_env: dict[str, str]) -> dict[str, str]:
    """Environment of one test's worker on `make test`'s broker, with its own prefix."""
    return {**worker_env, "INFERWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "INFERWATCH_KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}."}


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    w = Worker(env, tmp_path / "worker.log")
    yield w
    if w.proc is not None and w.proc.poll() is None:
        w.proc.kill()
        w.proc.wait()


async def consume(kafka: str | KafkaSettings, topic: str, *,
                  until: Callable[[list], bool],  # type: ignore[type-arg]
                  timeout: float = 120) -> list:  # type: ignore[type-arg]
    """Read ``topic`` from the beginning (read_committed) until ``until(records)``.

    ``kafka``: the bootstrap servers of a plaintext broker, or the settings of any."""
    settings = kafka if isinstance(kafka, KafkaSettings) else KafkaSettings(bootstrap=kafka)
    consumer = kafka_clients.reader(settings, topic)
    await consumer.start()
    records: list = []  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    try:
        while not until(records) and time.monotonic() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(msgs)
    finally:
        await consumer.stop()
    return records


class Receiver:
    """Collects the JSON bodies Alertmanager posts to /hook."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/hook":
                    with outer.lock:
                        outer.bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout_s: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.bodies) >= n:
                    return list(self.bodies)
            time.sleep(0.05)
        with self.lock:
            return list(self.bodies)


def judged_after(kafka: KafkaSettings, scenario: Scenario, worker: Worker,
                 reports: int = 6) -> None:
    """Send ``scenario`` and wait until ``reports`` more detector reports are out."""
    topic = Topics(kafka.topic_prefix).reports
    before = len(asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: False,
                                     timeout=2)))
    asyncio.run(simulate(kafka, scenario))
    after = asyncio.run(consume(kafka.bootstrap, topic,
                                until=lambda r: len(r) >= before + reports, timeout=90))
    assert len(after) >= before + reports, worker.tail()


# Tests that judge detectors, not latency on a shared 2-core CI box: thresholds no
# healthy run reaches
RELAXED_LATENCY = {"INFERWATCH_MONITOR_LATENCY_THRESHOLD_S": "30",
                   "INFERWATCH_MONITOR_SLO_THRESHOLD_S": "30"}


def kafka_of(env: dict[str, str]) -> KafkaSettings:
    """The Kafka settings of a test's worker environment."""
    return KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                         topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])


def alerts_of(kafka: KafkaSettings) -> list[Alert]:
    """Every alert on the alerts topic so far."""
    raw = asyncio.run(consume(kafka.bootstrap, Topics(kafka.topic_prefix).alerts,
                              until=lambda r: False, timeout=3))
    return [msgspec.json.decode(m.value, type=Alert) for m in raw]
