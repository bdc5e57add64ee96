"""A real Alertmanager between our sink and a webhook receiver: one page, then its resolve.

Starts Debian's prometheus-alertmanager through deploy/alertmanager/run.sh (group by
model, group_wait and group_interval 1 s), routes to a receiver this test runs on a free
port, posts a firing incident through ``AlertmanagerSink`` and then its resolve.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from detectors.alert_signal import AlertSignal
from detectors.incidents import IncidentTracker
from streams.alerting.notifiers import AlertmanagerSink
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from tests.integration.conftest import Receiver, Worker

pytestmark = pytest.mark.alertmanager

AM_BIN = os.environ.get("AM_BIN", "/usr/bin/prometheus-alertmanager")
RUN_SH = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "run.sh"
AM_PORT = int(os.environ.get("AM_PORT", "9193"))



@pytest.fixture
def alertmanager() -> Iterator[Receiver]:
    if not (os.path.exists(AM_BIN) or shutil.which("prometheus-alertmanager")):
        pytest.fail(f"{AM_BIN} is absent: apt-get install prometheus-alertmanager "
                    "(.ci/run installs it)", pytrace=False)
    receiver = Receiver()
    env = {**os.environ, "RECEIVER_URL": receiver.url, "AM_PORT": str(AM_PORT),
           "AM_BIN": AM_BIN if os.path.exists(AM_BIN) else shutil.which(
               "prometheus-alertmanager") or AM_BIN}
    subprocess.run([str(RUN_SH), "start"], env=env, check=True, timeout=60,
                   capture_output=True)
    try:
        yield receiver
    finally:
        subprocess.run([str(RUN_SH), "stop"], env=env, check=False, timeout=30,
                       capture_output=True)
        receiver.server.shutdown()


async def test_one_notification_per_incident_then_resolved(alertmanager: Receiver) -> None:
    now = time.time()
    tracker = IncidentTracker(clock=lambda: now, resolve_after_evaluations=1)
    signals = [AlertSignal("ranker-it", d, "firing", at=now, segment=s,
                           summary="p99 over budget", evidence={"burn_1h": 15.2})
               for d, s in (("latency_burn_rate", "*"), ("psi", "feature=f1"),
                            ("psi", "feature=f2"))]
    notes = [n for s in signals for n in tracker.observe(s)]
    assert len(notes) == 1  # three alerts, one incident
    sink = AlertmanagerSink(f"http://127.0.0.1:{AM_PORT}")
    await sink.send(notes[0])
    await sink.send(notes[0])  # a retry after a lost answer changes nothing downstream

    received = alertmanager.wait_for(1)
    time.sleep(2.5)  # two more group intervals: a duplicate would show up by now
    received = alertmanager.wait_for(2, timeout_s=0.1)
    assert len(received) == 1, received
    (firing,) = received
    assert firing["status"] == "firing"
    assert firing["groupLabels"] == {"model": "ranker-it"}
    (alert,) = firing["alerts"]
    assert alert["labels"]["detector"] == "latency_burn_rate"
    assert alert["labels"]["severity"] == "page"
    assert "burn_1h=15.2" in alert["annotations"]["description"]

    resolved_notes = [n for s in signals for n in tracker.observe(
        AlertSignal(s.model, s.detector, "resolved", at=now + 1, segment=s.segment))]
    assert [n.status for n in resolved_notes] == ["resolved"]
    await sink.send(resolved_notes[0])
    received = alertmanager.wait_for(2)
    assert len(received) == 2, received
    assert received[1]["status"] == "resolved"
    assert received[1]["alerts"][0]["labels"] == alert["labels"]
    await sink.aclose()


def test_latency_regression_on_the_pipeline_raises_one_ticket_then_resolves(
        alertmanager: Receiver, worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    env["INFERWATCH_ALERTING_ALERTMANAGER_URL"] = f"http://127.0.0.1:{AM_PORT}"
    env["INFERWATCH_ALERTING_SPILL_DIR"] = str(tmp_path / "outbox")
    # the SLO's page would hold the incident open until its 5-minute short window clears;
    # this test follows the latency-quantile detector, which resolves within windows
    env["INFERWATCH_MONITOR_SLO_THRESHOLD_S"] = "30"
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    worker.start()
    # the outside model 'ranker' slows down for requests 3000-6000 of 10000 (windows of 1000)
    asyncio.run(simulate(kafka, Scenario(count=10_000, rate=1000, seed=9, run_id="am",
                                         external_share=1.0, latency_from=3000,
                                         latency_to=6000)))
    received = alertmanager.wait_for(2, timeout_s=60)
    time.sleep(3)  # a duplicate page would arrive within a few group intervals
    received = alertmanager.wait_for(3, timeout_s=0.1)
    assert worker.stop() == 0, worker.tail()
    assert [r["status"] for r in received] == ["firing", "resolved"], received
    firing, resolved = received
    assert firing["groupLabels"] == {"model": "ranker"}
    (alert,) = firing["alerts"]
    assert alert["labels"]["detector"] == "latency_quantile"
    # one window's quantile over the threshold is a warning; pages come from burn rates
    assert alert["labels"]["severity"] == "ticket"
    assert "threshold_s=0.25" in alert["annotations"]["description"]
    assert resolved["alerts"][0]["labels"] == alert["labels"]


async def test_a_new_cause_joining_is_notified_again_and_the_resolve_closes_both(
        alertmanager: Receiver) -> None:
    """Issue 24: the update is a new alert in the model's group, so Alertmanager notifies
    again (after its group_interval, 1 s here); the resolve closes both alerts."""
    now = time.time()
    tracker = IncidentTracker(clock=lambda: now, resolve_after_evaluations=1,
                              group_interval_s=1.0)
    [first] = tracker.observe(AlertSignal("ranker-up", "prediction_drift", "firing", at=now))
    assert tracker.observe(AlertSignal("ranker-up", "experiment_srm", "firing", at=now + 0.5,
                                       summary="the router is broken")) == []
    [update] = tracker.observe(AlertSignal("ranker-up", "experiment_srm", "firing",
                                           at=now + 1.0))
    sink = AlertmanagerSink(f"http://127.0.0.1:{AM_PORT}")
    await sink.send(first)
    alertmanager.wait_for(1)
    await sink.send(update)
    received = alertmanager.wait_for(2)
    assert [len(r["alerts"]) for r in received] == [1, 2], received
    names = sorted(a["labels"]["detector"] for a in received[1]["alerts"])
    assert names == ["experiment_srm", "prediction_drift"]
    [resolved] = [n for d in ("prediction_drift", "experiment_srm") for n in tracker.observe(
        AlertSignal("ranker-up", d, "resolved", at=now + 2.0))]
    await sink.send(resolved)
    received = alertmanager.wait_for(3)
    assert received[2]["status"] == "resolved", received
    assert {a["status"] for a in received[2]["alerts"]} == {"resolved"}
    assert len(received[2]["alerts"]) == 2
    await sink.aclose()
