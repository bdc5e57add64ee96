"""Retrains that fail, on the real broker with the real retrain worker: a trainer that
raises, one that runs past its deadline, and a request with too few labels each give one
``RetrainDecided`` with the reason and one ticket, and move no alias; the request short
of labels is asked again once they exist, trains, passes, and its version resolves every
ticket, those a worker before a restart opened too."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import msgspec

from inference.registry import ModelStore
from retrain.retrain_job import CHAMPION
from retrain.synthetic import FEATURES, FeatureGenerator
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.simulation.simulator import RETRAINING_DRIFT
from streams.wire.codec import encode
from streams.wire.events import (
    Alert,
    Latency,
    ModelOutput,
    Outcome,
    Prediction,
    RetrainDecided,
    RetrainRequested,
)
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, kafka_of
from tests.integration.test_retraining import _read, _start_retrain, _store, _updates, _wait

DEADLINE_S = 20


async def _traffic(kafka: KafkaSettings, prefix: str, n: int, seed: int, start: float) -> None:
    """``n`` drifted predictions of churn v1 from ``start`` on, each with its label."""
    topics = Topics(kafka.topic_prefix)
    batch = FeatureGenerator(seed).sample(n, drift=RETRAINING_DRIFT)
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        for i in range(n):
            rid = f"{prefix}-{i:06d}"
            await producer.send(topics.predictions, encode(Prediction(
                request_id=rid, ts=start + i * 1e-4, model="churn", variant="A",
                model_version="v1", output=ModelOutput(label=0, score=0.1),
                latency=Latency(queue_s=0, inference_s=0, total_s=0),
                features=dict(zip(FEATURES, batch.features[i].tolist(), strict=True)))),
                key=rid.encode())
            await producer.send(topics.outcomes, encode(Outcome(
                request_id=rid, ts=start, kind="label", value=float(batch.labels[i]))),
                key=rid.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _request(kafka: KafkaSettings, rid: str, data_from: float) -> None:
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(kafka.topic_prefix).retrain, encode(
            RetrainRequested(id=rid, model="churn", reason="test", evidence={"psi": 1.0},
                             data_from=data_from, data_to=data_from + 10,
                             requested_at=time.time())), key=b"churn")
    finally:
        await producer.stop()


def _decisions(kafka: KafkaSettings) -> list[RetrainDecided]:
    return [msgspec.json.decode(v, type=RetrainDecided)
            for v in _read(kafka, "retrain-decisions")]


def _tickets(kafka: KafkaSettings) -> list[Alert]:
    return [a for a in (msgspec.json.decode(v, type=Alert) for v in _read(kafka, "alerts"))
            if a.labels.get("detector") == "retrain"]


def _fails(kafka: KafkaSettings, rid: str, worker: Worker, timeout: float = 120
           ) -> RetrainDecided:
    _wait(f"no failure said for {rid}", lambda: any(
        d.retrain_id == rid and d.status == "failed" for d in _decisions(kafka)), worker,
        timeout=timeout)
    return next(d for d in _decisions(kafka) if d.retrain_id == rid)


def test_failed_retrains_say_why_ticket_once_move_nothing_and_a_later_pass_resolves_them(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    """Slow by design (about 90 s): a trainer left to run to its deadline, and a real
    fine-tune at the end."""
    store = _store(model_dir, tmp_path)
    store.set_alias("churn", CHAMPION, "v1")
    mode = tmp_path / "trainer-mode"
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root),
                "INFERWATCH_RETRAIN_TRAINER": "tests.integration.retrain_trainers:scripted",
                "INFERWATCH_RETRAIN_TRAINER_DEADLINE_S": str(DEADLINE_S),
                "INFERWATCH_RETRAIN_MIN_EXAMPLES": "1500", "INFERWATCH_RETRAIN_MARGIN": "0.01",
                "INFERWATCH_RETRAIN_LABEL_WAIT_S": "3",
                "INFERWATCH_RETRAIN_RETRY_FIRST_CHECK_S": "2"})
    kafka = kafka_of(env)
    asyncio.run(kafka_clients.create_topics(kafka))
    first = time.time()
    asyncio.run(_traffic(kafka, "old", 2000, seed=51, start=first))
    _start_retrain(worker)

    mode.write_text("raises")
    asyncio.run(_request(kafka, "rt-raises", first - 1))
    raised = _fails(kafka, "rt-raises", worker)
    assert raised.reason.startswith("the trainer tests.integration.retrain_trainers:scripted "
                                    "raised RuntimeError: the user's trainer broke on 2000 "
                                    "examples"), raised

    mode.write_text("hangs")
    asyncio.run(_request(kafka, "rt-hangs", first - 1))
    hung = _fails(kafka, "rt-hangs", worker, timeout=DEADLINE_S + 90)
    assert hung.reason == (f"the trainer tests.integration.retrain_trainers:scripted ran "
                           f"past its deadline ({DEADLINE_S} s) and was killed"), hung
    _check_gone(int((tmp_path / "hung.pid").read_text()))

    # a real fine-tune needs more than the hang's deadline on a loaded machine; the
    # restarted worker also shows the open tickets and retries outliving a worker
    assert worker.stop() == 0, worker.tail()
    worker.env["INFERWATCH_RETRAIN_TRAINER_DEADLINE_S"] = "600"
    _start_retrain(worker)
    mode.write_text("fine_tunes")
    later = time.time()
    asyncio.run(_request(kafka, "rt-short", later))  # no labelled example after `later` yet
    short = _fails(kafka, "rt-short", worker)
    assert short.reason == "not trained: 0 of 1500 labels within 3 s", short
    _check_one_decision_and_ticket_each_and_nothing_moved(kafka, store)

    # the labels come (made after `later`, all in the past by now: the wait was 3 s)
    asyncio.run(_traffic(kafka, "new", 3000, seed=52, start=later + 0.5))
    _wait("the request short of labels was not asked again and promoted", lambda: any(
        u.action == "promoted" for u in _updates(kafka)), worker, timeout=180)
    _check_the_retry_passed_and_resolved_every_ticket(kafka, store, worker, tmp_path)
    assert worker.stop() == 0, worker.tail()


def _check_gone(pid: int) -> None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"the hung trainer (pid {pid}) still runs after its deadline")


def _check_one_decision_and_ticket_each_and_nothing_moved(kafka: KafkaSettings,
                                                          store: ModelStore) -> None:
    decided = _decisions(kafka)
    assert [(d.status, d.retrain_id) for d in decided] == [
        ("failed", "rt-raises"), ("failed", "rt-hangs"), ("failed", "rt-short")], decided
    tickets = _tickets(kafka)
    assert [(t.status, t.labels["retrain_id"]) for t in tickets] == [
        ("firing", "rt-raises"), ("firing", "rt-hangs"), ("firing", "rt-short")], tickets
    assert all(t.severity == "ticket" and t.annotations["summary"].endswith(d.reason)
               for t, d in zip(tickets, decided, strict=True))
    assert _updates(kafka) == [] and store.versions("churn") == ["v1"]
    assert [(c.alias, c.version) for c in store.alias_history("churn")] == [(CHAMPION, "v1")]


def _check_the_retry_passed_and_resolved_every_ticket(
        kafka: KafkaSettings, store: ModelStore, worker: Worker, tmp_path: Path) -> None:
    """rt-short, asked again once, trained on the new labels and passed; its version
    resolved the three tickets, each with the identity it fired with."""
    _wait("the tickets were not resolved", lambda: len(_tickets(kafka)) >= 6, worker,
          timeout=30)
    decided = _decisions(kafka)
    assert [(d.status, d.retrain_id) for d in decided] == [
        ("failed", "rt-raises"), ("failed", "rt-hangs"), ("failed", "rt-short"),
        ("requested", "rt-short")], decided
    assert decided[-1].reason.startswith("asked again (1 of 3): 3000 labelled examples now")
    asked = [msgspec.json.decode(v, type=RetrainRequested) for v in _read(kafka, "retrain")]
    assert [r.id for r in asked] == ["rt-raises", "rt-hangs", "rt-short", "rt-short"]
    published, promoted = _updates(kafka)
    assert (published.version, published.retrain_id, published.passed) == ("v2", "rt-short",
                                                                             True)
    assert (promoted.alias, promoted.version, promoted.previous) == (CHAMPION, "v2", "v1")
    assert [(c.alias, c.version) for c in store.alias_history("churn")] == [
        (CHAMPION, "v1"), (CHAMPION, "v2")]
    given = json.loads((tmp_path / "given.json").read_text())
    assert (given["rows"], given["holdout"]) == (3000, 900)  # the new labels only
    tickets = _tickets(kafka)
    fired = {t.labels["retrain_id"]: t for t in tickets if t.status == "firing"}
    resolved = {t.labels["retrain_id"]: t for t in tickets if t.status == "resolved"}
    assert len(tickets) == 6 and set(resolved) == set(fired) == {
        "rt-raises", "rt-hangs", "rt-short"}
    for rid, t in resolved.items():
        assert t.fingerprint == fired[rid].fingerprint and "v2 passed" in \
            t.annotations["summary"]
