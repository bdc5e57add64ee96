"""kill -9 the join while predictions wait for their labels: the restarted join still
joins every one of them, once."""

from __future__ import annotations

import asyncio
import time

import msgspec

from streams.kafka import clients as kafka_clients
from streams.kafka.topic_reader import read_latest
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import Latency, ModelOutput, MonitorSummary, Outcome, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

N, WRONG = 300, 100


async def _send(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = kafka_clients.producer(KafkaSettings(bootstrap=bootstrap))
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def _start_join(worker: Worker) -> None:
    offset = worker.log.stat().st_size if worker.log.exists() else 0
    worker.start(roles="join")
    deadline = time.monotonic() + 60
    while "join owns predictions partitions" not in worker.log.read_text(
            errors="replace")[offset:]:
        assert time.monotonic() < deadline, worker.tail()
        time.sleep(0.3)


def test_predictions_waiting_for_labels_survive_kill9(worker: Worker,
                                                      env: dict[str, str]) -> None:
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    _start_join(worker)
    ids = [f"w-{i:04d}" for i in range(N)]
    lat = Latency(queue_s=0.0, inference_s=0.001, total_s=0.002)
    asyncio.run(_send(kafka.bootstrap, [(topics.predictions, rid.encode(), encode(Prediction(
        request_id=rid, ts=1000.0 + i, model="outside", variant="A", model_version="v1",
        output=ModelOutput(label=1, score=0.9), latency=lat))) for i, rid in enumerate(ids)]))
    # every prediction is waiting, and written to the join's state, before the crash
    deadline = time.monotonic() + 60
    while len(asyncio.run(read_latest(kafka, topics.join_state, 6))) < N:
        assert time.monotonic() < deadline, worker.tail()
        time.sleep(0.5)
    worker.kill9()
    _start_join(worker)
    assert f"{N} waiting restored" in worker.log.read_text(errors="replace"), worker.tail()
    asyncio.run(_send(kafka.bootstrap, [(topics.outcomes, rid.encode(), encode(Outcome(
        request_id=rid, ts=2000.0, kind="label", value=0.0 if i < WRONG else 1.0)))
        for i, rid in enumerate(ids)]))

    def counts(records: list) -> tuple[int, int]:  # type: ignore[type-arg]
        joined = [msgspec.json.decode(r.value, type=MonitorSummary) for r in records]
        return (sum(s.labelled for s in joined if s.model == "outside"),
                sum(s.label_errors for s in joined if s.model == "outside"))

    asyncio.run(consume(kafka.bootstrap, topics.summaries, until=lambda r: counts(r)[0] >= N,
                        timeout=60))
    time.sleep(2)  # anything joined twice would arrive by now
    summaries = asyncio.run(consume(kafka.bootstrap, topics.summaries,
                                    until=lambda r: False, timeout=3))
    assert worker.stop() == 0, worker.tail()
    assert counts(summaries) == (N, WRONG), worker.tail()
    # all joined: the join's state holds nothing any more (tombstones)
    assert asyncio.run(read_latest(kafka, topics.join_state, 6)) == {}
