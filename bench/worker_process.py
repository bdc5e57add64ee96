"""A worker process for a benchmark: started with its own topic prefix, watched, stopped.

Each benchmark runs real workers (``python -m streams.cli worker``) against the private
broker that ``bench/with_kafka.sh`` starts, with settings passed through the environment
as an operator would, and reads their resident memory from ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def bootstrap() -> str:
    """The broker the benchmark talks to (``INFERWATCH_KAFKA_BOOTSTRAP``)."""
    value = os.environ.get("INFERWATCH_KAFKA_BOOTSTRAP")
    if not value:
        raise SystemExit("INFERWATCH_KAFKA_BOOTSTRAP is not set: run through bench/with_kafka.sh")
    return value


class WorkerProcess:
    """One ``inferwatch worker`` with ``roles``, logging to ``workdir/<name>.log``.

    ``env`` adds to (and overrides) the environment; the topic prefix, the worker id
    (its transactional ids), the ClickHouse path and the outbox are the worker's own.
    """

    def __init__(self, name: str, roles: str, prefix: str, workdir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.roles = roles
        self.log = workdir / f"{name}.log"
        self._env = {
            **os.environ, "PYTHONPATH": str(REPO), "INFERWATCH_KAFKA_BOOTSTRAP": bootstrap(),
            "INFERWATCH_KAFKA_TOPIC_PREFIX": prefix, "INFERWATCH_KAFKA_WORKER_ID": name,
            "INFERWATCH_CLICKHOUSE_PATH": str(workdir / f"{name}-chdb"),
            "INFERWATCH_ALERTING_SPILL_DIR": str(workdir / f"{name}-outbox"),
            "INFERWATCH_INFERENCE_MODEL_DIR": os.environ.get(
                "INFERWATCH_INFERENCE_MODEL_DIR", str(REPO / "var" / "models")),
            **(env or {})}
        self._workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--roles", self.roles],
            env=self._env, cwd=self._workdir, stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT)

    def wait_started(self, timeout_s: float = 120.0) -> float:
        """Block until every role's loop has logged that it started; the seconds it took."""
        began, wanted = time.monotonic(), len(self.roles.split(","))
        while self._started_count() < wanted:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.tail()}")
            if time.monotonic() - began > timeout_s:
                raise RuntimeError(f"worker {self.name} not started in {timeout_s} s:\n"
                                   f"{self.tail()}")
            time.sleep(0.05)
        return time.monotonic() - began

    def _started_count(self) -> int:
        return self.log.read_text(errors="replace").count(" started") if self.log.exists() else 0

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the worker was not started"
        return self.proc.pid

    def rss_mib(self) -> float:
        """Resident memory of the worker process, MiB (VmRSS in /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for pid {self.pid}")

    def cpu_s(self) -> float:
        """CPU seconds the worker process has used (user + system, /proc/PID/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """SIGKILL: no flush, no leave-group; its partitions wait for the session timeout."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in ``timeout_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
