"""A rebalance moves a model's decisions to another worker: its state moves with it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from retrain.synthetic import Drift
from streams.kafka.record_writer import partition_of
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.events import Alert
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume, judged_after


def _wait_for_log(worker: Worker, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in worker.log.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in the log; tail:\n{worker.tail()}")


def _drift_alerts(kafka: KafkaSettings, topics: Topics, until_resolved: bool) -> list[str]:
    """The statuses of the feature-drift alerts so far (until one resolves, if asked)."""
    def statuses(records: list) -> list[str]:  # type: ignore[type-arg]
        alerts = [msgspec.json.decode(r.value, type=Alert) for r in records]
        return [a.status for a in alerts if a.labels["detector"] == "feature_drift"]

    records = asyncio.run(consume(
        kafka.bootstrap, topics.alerts, timeout=150 if until_resolved else 3,
        until=lambda r: until_resolved and "resolved" in statuses(r)))
    return statuses(records)


def test_a_firing_alert_moves_with_its_model_and_pages_once(
        env: dict[str, str], tmp_path: Path) -> None:
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    # the range assignor gives the first member (by id: worker a) partitions 0-1 and the
    # second (worker b) partition 2, where churn's summaries go
    assert partition_of(b"churn", topics.partitions("monitor-summaries")) == 2
    (tmp_path / "b").mkdir()
    a = Worker({**env, "INFERWATCH_KAFKA_WORKER_ID": "a"}, tmp_path / "a.log")
    b = Worker({**env, "INFERWATCH_KAFKA_WORKER_ID": "b",
                "INFERWATCH_TEST_DIR": str(tmp_path / "b")}, tmp_path / "b.log")
    drift = Drift("f2", shift=2.0)
    try:
        a.start()
        b.start(roles="decide")
        _wait_for_log(b, "decide owns summaries partitions [2]: models []")
        _wait_for_log(a, "decide owns summaries partitions [0, 1]")

        # worker b decides for churn and pages
        asyncio.run(simulate(kafka, Scenario(count=5000, seed=4, run_id="before",
                                             drift_at=1000, drift=drift)))
        asyncio.run(consume(kafka.bootstrap, topics.alerts, until=lambda r: len(r) >= 1,
                            timeout=90))
        assert "models ['churn']" not in a.log.read_text()  # a never held churn so far

        # b leaves: a takes partition 2 over, with churn's firing state
        assert b.stop() == 0, b.tail()
        _wait_for_log(a, "decision state restored for ['churn']")
        judged_after(kafka, Scenario(count=4000, seed=5, run_id="after", drift_at=0,
                                     drift=drift), a)
        assert _drift_alerts(kafka, topics, until_resolved=False) == ["firing"], a.tail()

        # the drift ends: a resolves the incident b opened
        asyncio.run(simulate(kafka, Scenario(count=6000, seed=6, run_id="calm")))
        assert _drift_alerts(kafka, topics, until_resolved=True) == ["firing", "resolved"], (
            a.tail())
        assert a.stop() == 0, a.tail()
    finally:
        for w in (a, b):
            if w.proc is not None and w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
