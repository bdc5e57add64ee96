"""A page joining an open incident reaches on-call (issue 24, item 4), on the real broker.

The decision step's alerts are made by its own AlertBook (their identity and wording as
the worker makes them) and put on the alerts topic; the worker's router (role ``route``)
sends to a webhook receiver. A prediction-drift page opens; 3 s later a sample-ratio-
mismatch page of the same model joins: it gets its own notification within
``group_interval``, naming the SRM, and the resolve lists both. A ``kill -9`` of the
router after the join and before the update changes none of that: the restarted router
replays the topic and sends the update once.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from detectors.ab.experiment import SRM_TEST
from streams.decision.alert_book import AlertBook
from streams.decision.experiment import ExperimentJudge
from streams.decision.verdict import Verdict
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import Alert
from streams.wire.topics import Topics
from tests.integration.conftest import REPO, Receiver, Worker

GROUP_INTERVAL_S = 4.0
DRIFT = {"psi": 0.41, "p_value": 1e-12}
SRM = {"action": "rollback", "test": SRM_TEST, "reason": "sample ratio mismatch",
       "srm_p_value": 1e-9}


@pytest.fixture
def router(bootstrap: str, tmp_path: Path) -> Iterator[tuple[Worker, Receiver, KafkaSettings]]:
    """A worker running only the alert router, sending to a webhook receiver."""
    receiver = Receiver()
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    env = {**os.environ, "PYTHONPATH": str(REPO), "INFERWATCH_TEST_DIR": str(tmp_path),
           "INFERWATCH_KAFKA_BOOTSTRAP": bootstrap,
           "INFERWATCH_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
           "INFERWATCH_INFERENCE_MODEL_DIR": str(tmp_path / "models"),
           "INFERWATCH_CLICKHOUSE_PATH": str(tmp_path / "chdb"),
           "INFERWATCH_ALERTING_WEBHOOK_URL": receiver.url,
           "INFERWATCH_ALERTING_SPILL_DIR": str(tmp_path / "outbox"),
           "INFERWATCH_ALERTING_GROUP_INTERVAL_S": str(GROUP_INTERVAL_S)}
    worker = Worker(env, tmp_path / "worker.log")
    yield worker, receiver, kafka
    if worker.proc is not None and worker.proc.poll() is None:
        worker.proc.kill()
        worker.proc.wait()
    receiver.server.shutdown()


def _start(worker: Worker) -> None:
    offset = worker.log.stat().st_size if worker.log.exists() else 0
    worker.start(roles="route")
    deadline = time.monotonic() + 60
    while "alert router started" not in worker.log.read_text()[offset:]:
        assert time.monotonic() < deadline and worker.proc and worker.proc.poll() is None, \
            worker.tail()
        time.sleep(0.2)


class Decider:
    """The alerts the decision step makes of churn's verdicts, put on the alerts topic."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.book = AlertBook(fire_after=1, resolve_after=1)

    def send(self, variant: str, verdict: Verdict, describe: Any) -> Alert:
        alert = self.book.observe("churn", variant, verdict, now=time.time(),
                                  describe=describe, dashboard="http://grafana/d/x")
        assert alert is not None
        asyncio.run(self._produce(alert))
        return alert

    async def _produce(self, alert: Alert) -> None:
        producer = kafka_clients.producer(self.kafka)
        await producer.start()
        try:
            await producer.send_and_wait(Topics(self.kafka.topic_prefix).alerts, encode(alert))
        finally:
            await producer.stop()

    def drift(self, bad: bool) -> Alert:
        return self.send("A", Verdict("prediction_drift", None, bad, dict(DRIFT),
                                      target={"feature": "p_churn", "segment": "*"}),
                         lambda e: f"prediction drift in {e.get('feature')}")

    def srm(self, bad: bool) -> Alert:
        return self.send("B", Verdict("experiment_srm", None, bad, dict(SRM)),
                         ExperimentJudge.describe)


def _join(worker: Worker, receiver: Receiver, decider: Decider, *,
          crash: bool) -> tuple[list[dict[str, Any]], float]:
    """Drift pages, the SRM joins (and the router may die right after); returns the
    notifications once the update came, and when the SRM joined."""
    decider.drift(True)
    assert receiver.wait_for(1, timeout_s=30), worker.tail()
    time.sleep(3)  # the drift page was opened 3 s earlier
    srm_at = time.time()
    decider.srm(True)
    if crash:
        time.sleep(0.5)  # the router has read the SRM; its update is not due yet
        worker.kill9()
        assert len(receiver.wait_for(2, timeout_s=0.1)) == 1
        _start(worker)
    notes = receiver.wait_for(2, timeout_s=30 if crash else GROUP_INTERVAL_S + 3)
    return notes, srm_at


def _check(notes: list[dict[str, Any]], srm_fingerprint: str) -> None:
    assert [n["status"] for n in notes] == ["firing", "firing", "resolved"], notes
    first, update, resolved = notes
    assert first["labels"]["detector"] == "prediction_drift" and first["joined"] == []
    assert update["joined"] == [srm_fingerprint]
    assert update["labels"]["detector"] == "experiment_srm"
    assert update["dedup_key"] != first["dedup_key"]
    assert update["fingerprint"] == first["fingerprint"]  # the same incident
    new = update["annotations"]["description"].splitlines()[0]
    assert new.startswith("new: experiment_srm on churn/B") and "the router is broken" in new
    assert "srm_p_value=1e-09" in new
    assert resolved["dedup_key"] == first["dedup_key"]
    lines = resolved["annotations"]["description"].splitlines()
    assert sorted(line.split(" on ")[0] for line in lines) == [
        "cleared: experiment_srm", "cleared: prediction_drift"]
    assert len(resolved["episode_alerts"]) == 2


@pytest.mark.parametrize("crash", [False, True], ids=["live", "kill-9-before-the-update"])
def test_a_srm_page_joining_an_open_drift_page_is_notified_and_resolved_with_it(
        router: tuple[Worker, Receiver, KafkaSettings], crash: bool) -> None:
    worker, receiver, kafka = router
    _start(worker)
    decider = Decider(kafka)
    notes, srm_at = _join(worker, receiver, decider, crash=crash)
    assert len(notes) == 2, (notes, worker.tail())
    if not crash:  # its own notification within group_interval of joining
        assert time.time() - srm_at <= GROUP_INTERVAL_S + 1.5
    [srm_fp] = [a.fingerprint for a in decider.book.open.values()
                if a.labels["detector"] == "experiment_srm"]
    decider.srm(False)
    decider.drift(False)
    receiver.wait_for(3, timeout_s=30)
    time.sleep(GROUP_INTERVAL_S + 1)  # a duplicate would arrive by now
    notes = receiver.wait_for(4, timeout_s=0.1)
    assert worker.stop() == 0, worker.tail()
    _check(notes, srm_fp)
