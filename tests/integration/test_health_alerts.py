"""Schema and data-quality pages on the real broker, as on-call receives them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from detectors.reference.profile import ReferenceProfile
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.events import Alert
from streams.wire.topics import Topics
from tests.integration.conftest import (
    RELAXED_LATENCY,
    Receiver,
    Worker,
    alerts_of,
    consume,
    kafka_of,
)


def _wait(receiver: Receiver, done: Callable[[list[dict]], bool], timeout_s: float
          ) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with receiver.lock:
            bodies = list(receiver.bodies)
        if done(bodies):
            return bodies
        time.sleep(0.2)
    with receiver.lock:
        return list(receiver.bodies)


def _webhook(env: dict[str, str], tmp_path: Path) -> Receiver:
    receiver = Receiver()
    env.update(RELAXED_LATENCY)
    env["INFERWATCH_ALERTING_WEBHOOK_URL"] = receiver.url
    env["INFERWATCH_ALERTING_SPILL_DIR"] = str(tmp_path / "outbox")
    return receiver


def _finish(worker: Worker, receiver: Receiver, kafka: KafkaSettings, quiet_s: float
            ) -> tuple[list[dict], list[Alert]]:
    """After the resolve: wait ``quiet_s`` for a late page, then stop; what was sent."""
    time.sleep(quiet_s)
    bodies = _wait(receiver, lambda b: False, 0.1)
    alerts = alerts_of(kafka)
    assert worker.stop() == 0, worker.tail()
    receiver.server.shutdown()
    return bodies, alerts


def test_malformed_requests_page_once_as_schema_and_hold_the_drift_they_cause(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    """Slow by design (about 40 s): 6,000 requests and then 8,000 at 800/s, so that the
    dead-letter share is judged over its 5 s window while bad, and the page resolves only
    after 8 s of clean traffic (the resolve delay under test).
    """
    receiver = _webhook(env, tmp_path)
    env.update({"INFERWATCH_HEALTH_INTERVAL_S": "1", "INFERWATCH_HEALTH_DEAD_LETTER_WINDOW_S": "5",
                "INFERWATCH_HEALTH_SCHEMA_FIRE_AFTER_S": "0",
                "INFERWATCH_HEALTH_SCHEMA_RESOLVE_AFTER_S": "8",
                # the schema page is out before drift has had its windows
                "INFERWATCH_MONITOR_FIRE_AFTER": "3"})
    kafka = kafka_of(env)
    worker.start(roles="inference,monitor,decide,route,health")
    # a broken producer: 20% of its records malformed, f3 shifted in the valid ones
    asyncio.run(simulate(kafka, Scenario(count=6000, rate=800, seed=41, run_id="bad",
                                         malformed_share=0.2, drift_at=0,
                                         drift=Drift("f3", shift=1.5))))
    firing = _wait(receiver, lambda b: len(b) >= 1, 20)
    # it stops; good traffic follows, and the page resolves
    asyncio.run(simulate(kafka, Scenario(count=8000, rate=800, seed=42, run_id="good")))
    _wait(receiver, lambda b: len(b) >= 2, 30)
    # a late page (drift released by the resolve) would be out within 3 s
    bodies, alerts = _finish(worker, receiver, kafka, quiet_s=3)

    assert firing, worker.tail()
    assert [(b["status"], b["model"], b["labels"]["detector"]) for b in bodies] == [
        ("firing", "*", "schema"), ("resolved", "*", "schema")], bodies
    schema = [a for a in alerts if a.labels["detector"] == "schema"]
    assert [a.status for a in schema] == ["firing", "resolved"]
    assert schema[0].fingerprint == schema[1].fingerprint
    assert schema[0].labels == schema[1].labels
    assert schema[0].labels["source_topic"] == Topics(kafka.topic_prefix).requests
    assert schema[0].labels["reason"] == "malformed"
    assert 0.05 < float(schema[0].evidence["share"]) <= 0.3
    assert float(schema[1].evidence["share"]) <= 0.05  # the evidence at the resolve
    # the drift was there, and decided, but held by inhibition: no one was paged for it
    drift = [a for a in alerts if a.labels["detector"] == "feature_drift"]
    assert [a.status for a in drift][:1] == ["firing"], [a.annotations for a in alerts]
    assert drift[0].evidence["feature"] == "f3"
    assert drift[0].starts_at >= schema[0].starts_at


def test_a_feature_missing_from_30_percent_pages_once_naming_it(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    receiver = _webhook(env, tmp_path)
    # the outside model 'ranker' serves itself; its reference profile says what normal is
    models = tmp_path / "models"
    (models / "ranker").mkdir(parents=True)
    X = FeatureGenerator(40).sample(8000).features
    ReferenceProfile.from_features("ranker", "ext-1", FEATURES, X).save(
        models / "ranker" / "reference.json")
    env["INFERWATCH_INFERENCE_MODEL_DIR"] = str(models)
    kafka = kafka_of(env)
    worker.start(roles="monitor,decide,route")
    ranker = partial(Scenario, rate=1500, external_share=1.0)  # outside predictions only
    asyncio.run(simulate(kafka, ranker(count=3000, seed=43, run_id="ok1")))
    asyncio.run(simulate(kafka, ranker(count=5000, seed=44, run_id="gap",
                                       missing_feature="f2", missing_share=0.3)))
    firing = _wait(receiver, lambda b: len(b) >= 1, 20)
    asyncio.run(simulate(kafka, ranker(count=5000, seed=45, run_id="ok2")))
    _wait(receiver, lambda b: len(b) >= 2, 30)
    bodies, alerts = _finish(worker, receiver, kafka, quiet_s=2)

    assert firing, worker.tail()
    assert [(b["status"], b["model"], b["labels"]["detector"]) for b in bodies] == [
        ("firing", "ranker", "data_quality"), ("resolved", "ranker", "data_quality")], bodies
    quality = [a for a in alerts if a.labels["detector"] == "data_quality"]
    assert [a.status for a in quality] == ["firing", "resolved"], alerts
    assert quality[0].fingerprint == quality[1].fingerprint
    assert quality[0].evidence["feature"] == "f2" and quality[0].evidence["problem"] == "missing"
    assert 0.2 <= float(quality[0].evidence["missing_share"]) <= 0.4
    assert "f2 missing" in quality[0].annotations["summary"]
    assert "f2" in bodies[0]["annotations"]["description"]
    assert [a for a in alerts if a.labels["detector"] != "data_quality"] == []


def test_a_schema_alert_open_at_a_kill_9_resolves_after_the_restart(
        worker: Worker, env: dict[str, str]) -> None:
    """Slow by design (about 27 s): two worker starts around a kill -9, and 3,000 bad then
    3,000 good requests at 800/s, the rate at which the dead-letter window is judged.
    """
    env.update({"INFERWATCH_HEALTH_INTERVAL_S": "1", "INFERWATCH_HEALTH_DEAD_LETTER_WINDOW_S": "5",
                "INFERWATCH_HEALTH_SCHEMA_FIRE_AFTER_S": "0",
                "INFERWATCH_HEALTH_SCHEMA_RESOLVE_AFTER_S": "3"})
    kafka = kafka_of(env)
    topic = Topics(kafka.topic_prefix).alerts
    worker.start(roles="inference,health")
    asyncio.run(simulate(kafka, Scenario(count=3000, rate=800, seed=46, run_id="bad",
                                         malformed_share=0.2)))
    asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: len(r) >= 1, timeout=20))
    worker.kill9()  # the alert is open, and the process that opened it is gone
    worker.start(roles="inference,health")
    asyncio.run(simulate(kafka, Scenario(count=3000, rate=800, seed=47, run_id="good")))
    asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: len(r) >= 2, timeout=30))
    time.sleep(2)  # a second firing would be out by now
    alerts = alerts_of(kafka)
    assert worker.stop() == 0, worker.tail()

    assert [(a.status, a.labels["detector"]) for a in alerts] == [
        ("firing", "schema"), ("resolved", "schema")], worker.tail()
    fired, resolved = alerts
    assert (resolved.fingerprint, resolved.labels) == (fired.fingerprint, fired.labels)
    assert resolved.starts_at == fired.starts_at and resolved.ends_at is not None
    assert "health alerts reopened after a restart" in worker.log.read_text()
