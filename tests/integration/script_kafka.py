"""Brokers started by ``deploy/kafka/kafka.sh`` for one test session: a SASL_SSL node and
a three-node cluster, each on its own ports and data folder, next to `make test`'s broker.

Ports come from ``INFERWATCH_TEST_SECURE_PORT`` (default 39094; its controller the next
port) and ``INFERWATCH_TEST_CLUSTER_PORT`` (default 39192; node N at +100*(N-1), each
controller at +1). ``deploy/test.sh`` removes both folders when it ends, whatever happens.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from streams.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "kafka" / "kafka.sh"
# small heaps: CI machines have two cores and a few GB for everything
HEAP = "-Xmx384m"


@dataclass
class ScriptKafka:
    """One kafka.sh deployment: ``nodes`` nodes, plaintext or SASL_SSL."""

    port: int
    data: Path
    nodes: int = 1
    security: str = "plaintext"
    acl_topic_prefix: str = "inferwatch."

    def _run(self, *args: str, timeout: float = 240) -> None:
        env = {**os.environ, "KAFKA_PORT": str(self.port),
               "KAFKA_CONTROLLER_PORT": str(self.port + 1), "INFERWATCH_KAFKA_DIR": str(self.data),
               "KAFKA_NODES": str(self.nodes), "KAFKA_SECURITY": self.security,
               "KAFKA_ACL_TOPIC_PREFIX": self.acl_topic_prefix, "KAFKA_HEAP_OPTS": HEAP,
               "KAFKA_START_TIMEOUT": "150"}
        done = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"kafka.sh {' '.join(args)} failed:\n{done.stderr[-4000:]}")

    def start(self) -> None:
        """Start from empty storage (certificates, users and ACLs made anew)."""
        self._run("clean")
        self._run("start")

    def clean(self) -> None:
        self._run("clean")

    def kill(self, node: int) -> None:
        """SIGKILL one node, as a crash would."""
        self._run("kill", str(node))

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + 100 * n}" for n in range(self.nodes))

    @property
    def ca(self) -> Path:
        return self.data / "tls" / "ca.pem"

    def password(self, user: str) -> str:
        return (self.data / "users" / user).read_text().strip()

    def settings(self, prefix: str, user: str | None = None, **changes: object) -> KafkaSettings:
        """Client settings for this deployment, as ``user`` when it is SASL_SSL."""
        fields: dict[str, object] = {"bootstrap": self.bootstrap, "topic_prefix": prefix}
        if self.security == "sasl_ssl":
            fields.update(security_protocol="SASL_SSL", ssl_cafile=self.ca,
                          sasl_username=user or "admin",
                          sasl_password=self.password(user or "admin"))
        return KafkaSettings(**{**fields, **changes})  # type: ignore[arg-type]


def env_of(settings: KafkaSettings) -> dict[str, str]:
    """The ``INFERWATCH_KAFKA_*`` variables that give a worker ``settings``."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        out[f"INFERWATCH_KAFKA_{name.upper()}"] = str(value)
    return out


def secure() -> ScriptKafka:
    port = int(os.environ.get("INFERWATCH_TEST_SECURE_PORT", "39094"))
    return ScriptKafka(port=port, data=REPO / "var" / "kafka-test-secure", security="sasl_ssl",
                       acl_topic_prefix="secured.")


def cluster() -> ScriptKafka:
    port = int(os.environ.get("INFERWATCH_TEST_CLUSTER_PORT", "39192"))
    return ScriptKafka(port=port, data=REPO / "var" / "kafka-test-cluster", nodes=3)
