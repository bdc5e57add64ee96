"""What the retrain worker publishes for a retrain that published nothing, and its retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from retrain.failure_ledger import FailureLedger
from retrain.label_retry import LabelRetry, Waiting
from retrain.retrain_job import RetrainResult
from streams.retraining.failed_retrains import FailedRetrains
from streams.wire.events import Alert, RetrainDecided, RetrainRequested
from streams.wire.topics import Topics

TOPICS = Topics("t.")


class _Producer:
    """Records what is sent, per topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append((topic, key, value))

    def on(self, topic: str, kind: type) -> list:  # type: ignore[type-arg]
        return [msgspec.json.decode(v, type=kind) for t, _, v in self.sent if t == topic]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _request(rid: str) -> RetrainRequested:
    return RetrainRequested(id=rid, model="churn", reason="drift", evidence={"psi": 1.0},
                            data_from=50.0, data_to=90.0, requested_at=95.0)


def _result(rid: str, passed: bool) -> RetrainResult:
    return RetrainResult(rid, "churn", "v2", "v1", passed, "champion" if passed else None,
                         {}, False)


def test_each_failure_says_so_once_with_one_ticket_that_a_passing_retrain_resolves(
        tmp_path: Path) -> None:
    clock, producer = _Clock(), _Producer()
    desk = FailedRetrains(TOPICS, FailureLedger(tmp_path / "f.json", LabelRetry(500)), clock)

    async def run() -> None:
        await desk.failed(producer, _request("rt-1"),  # type: ignore[arg-type]
                          "the trainer t:raises raised RuntimeError: broke")
        clock.now = 200.0
        await desk.failed(producer, _request("rt-2"),  # type: ignore[arg-type]
                          "not trained: 12 of 500 labels within 60 s", waits_for_labels=True)
        await desk.trained(producer, _result("rt-3", passed=False))  # not a success
        clock.now = 300.0
        await desk.trained(producer, _result("rt-4", passed=True))
    asyncio.run(run())

    decided = producer.on(TOPICS.retrain_decisions, RetrainDecided)
    assert [(d.status, d.retrain_id, d.reason, d.incident_start) for d in decided] == [
        ("failed", "rt-1", "the trainer t:raises raised RuntimeError: broke", 50.0),
        ("failed", "rt-2", "not trained: 12 of 500 labels within 60 s", 50.0)]
    alerts = producer.on(TOPICS.alerts, Alert)
    assert [(a.status, a.labels["retrain_id"], a.starts_at, a.ends_at) for a in alerts] == [
        ("firing", "rt-1", 100.0, None), ("firing", "rt-2", 200.0, None),
        ("resolved", "rt-1", 100.0, 300.0), ("resolved", "rt-2", 200.0, 300.0)]
    assert alerts[0].fingerprint == alerts[2].fingerprint != alerts[1].fingerprint
    assert all(a.severity == "ticket" and a.labels["detector"] == "retrain" for a in alerts)
    keys = [k for t, k, _ in producer.sent if t == TOPICS.alerts]
    assert keys == [a.fingerprint.encode() for a in alerts]
    assert producer.on(TOPICS.retrain, RetrainRequested) == []


def test_a_request_short_of_labels_is_asked_again_once_they_exist_and_only_then(
        tmp_path: Path) -> None:
    clock, producer = _Clock(), _Producer()
    retry = LabelRetry(500, first_check_s=10, max_retries=3)
    desk = FailedRetrains(TOPICS, FailureLedger(tmp_path / "f.json", retry), clock)
    counts = iter([120, 499, 650])
    counted: list[float] = []

    async def count(w: Waiting) -> int:
        counted.append(clock.now)
        return next(counts)

    async def run() -> None:
        await desk.failed(producer, _request("rt-1"),  # type: ignore[arg-type]
                          "not trained: 3 of 500 labels within 60 s", waits_for_labels=True)
        for now in (105.0, 110.0, 115.0, 130.0, 169.0, 170.0, 400.0):
            clock.now = now
            await desk.ask_again(producer, count)  # type: ignore[arg-type]
    asyncio.run(run())
    assert counted == [110.0, 130.0, 170.0]  # due at 10, then 20 and 40 s later
    (asked,) = producer.on(TOPICS.retrain, RetrainRequested)
    assert (asked.id, asked.model, asked.data_from, asked.data_to) == ("rt-1", "churn", 50.0,
                                                                        170.0)
    assert asked.evidence == {"retry": 1.0, "labelled": 650.0}
    decided = producer.on(TOPICS.retrain_decisions, RetrainDecided)
    assert [(d.status, d.reason) for d in decided] == [
        ("failed", "not trained: 3 of 500 labels within 60 s"),
        ("requested", "asked again (1 of 3): 650 labelled examples now, 500 needed")]
