"""Bad records go to the dead-letter topic with the reason; outside clients just work."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request

import msgspec

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.dead_letter import reason_of
from streams.wire.events import InferenceRequest, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume


def _request(i: int) -> bytes:
    return encode(InferenceRequest(
        id=f"ok-{i}", ts=time.time(), model="churn", unit_id=f"u{i}",
        features={f"f{j}": float(j) + i / 100 for j in range(8)}, segment={"region": "eu"}))


POISON = {
    "malformed": b'{"id": "bad-json", "ts": 1.0, "model": "churn", "features": {',
    "schema_version": json.dumps({"schema_version": 2, "id": "v2", "ts": 1.0, "model": "churn",
                                  "features": {"f0": 1.0}}).encode(),
    "nan": b'{"id": "nan", "ts": 1.0, "model": "churn", "features": {"f0": NaN}}',
    "inf": b'{"id": "inf", "ts": 1.0, "model": "churn", "features": {"f0": 1e999}}',
    "too_large": b'{"id": "big", "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}',
    "unknown_model": encode(InferenceRequest(id="nomodel", ts=1.0, model="nope",
                                             features={"f0": 1.0})),
}
EXPECTED_KIND = {"malformed": "malformed", "schema_version": "schema_version",
                 "nan": "malformed", "inf": "invalid", "too_large": "too_large",
                 "unknown_model": "unknown_model"}

async def _produce_poison_among_valid(bootstrap: str, topics: Topics) -> int:
    """Each poison record after three valid requests; returns how many were valid."""
    valid = 0
    producer = kafka_clients.producer(KafkaSettings(bootstrap=bootstrap))
    await producer.start()
    try:
        for name, raw in POISON.items():
            for _ in range(3):
                await producer.send_and_wait(topics.requests, _request(valid),
                                             key=f"ok-{valid}".encode())
                valid += 1
            await producer.send_and_wait(topics.requests, raw, key=name.encode())
    finally:
        await producer.stop()
    return valid


def _settled_metrics(port: int, topics: Topics, processed: int,
                     dead_letters: dict[str, int]) -> dict[str, float]:
    """The worker's /metrics once they count every record (or after 15 s, as they are)."""

    def settled(metrics: dict[str, float]) -> bool:
        # the loop counts dead letters and sets the lag gauge just after its transaction
        # returns: a scrape right after the outputs are readable may come before them
        lags = [v for k, v in metrics.items()
                if k.startswith("inferwatch_consumer_lag_records{") and topics.requests in k]
        return (metrics.get('inferwatch_events_processed_total{stage="inference"}')
                == processed and bool(lags) and all(v == 0 for v in lags)
                and all(metrics.get(f'inferwatch_dead_letters_total{{reason="{kind}"}}') == n
                        for kind, n in dead_letters.items()))

    metrics = _metrics(port)
    deadline = time.monotonic() + 15
    while not settled(metrics) and time.monotonic() < deadline:
        time.sleep(0.3)
        metrics = _metrics(port)
    return metrics


def test_poison_records_are_dead_lettered_and_the_stream_goes_on(
        worker: Worker, env: dict[str, str]) -> None:
    bootstrap = env["INFERWATCH_KAFKA_BOOTSTRAP"]
    topics = Topics(env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    port = _free_port()
    env["INFERWATCH_ALERTING_METRICS_PORT"] = str(port)
    worker.start()
    valid = asyncio.run(_produce_poison_among_valid(bootstrap, topics))

    dead = asyncio.run(consume(bootstrap, topics.dead_letter,
                               until=lambda r: len(r) >= len(POISON), timeout=90))
    preds = asyncio.run(consume(bootstrap, topics.predictions,
                                until=lambda r: len(r) >= valid, timeout=90))
    dead_letters = {kind: sum(1 for k in EXPECTED_KIND.values() if k == kind)
                    for kind in set(EXPECTED_KIND.values())}
    metrics = _settled_metrics(port, topics, valid + len(POISON), dead_letters)
    assert worker.stop() == 0, worker.tail()

    # the watcher is watched: its own /metrics count what it did, in base units
    assert metrics['inferwatch_events_processed_total{stage="inference"}'] == valid + len(POISON)
    for kind, want in dead_letters.items():
        assert metrics[f'inferwatch_dead_letters_total{{reason="{kind}"}}'] == want
    lags = [v for k, v in metrics.items() if k.startswith("inferwatch_consumer_lag_records{")
            and topics.requests in k]
    assert lags and all(v == 0 for v in lags)

    by_key = {m.key.decode(): m for m in dead}
    assert set(by_key) == set(POISON), worker.tail()
    for name, msg in by_key.items():
        headers = reason_of(msg.headers)
        assert headers["inferwatch.error.kind"] == EXPECTED_KIND[name], headers
        assert headers["inferwatch.source.topic"] == topics.requests
        assert int(headers["inferwatch.source.offset"]) >= 0
        assert headers["inferwatch.error"]
        assert msg.value == POISON[name]  # the raw record is kept whole
    ids = sorted(msgspec.json.decode(m.value, type=Prediction).request_id for m in preds)
    assert ids == sorted(f"ok-{i}" for i in range(valid))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics(port: int) -> dict[str, float]:
    """The worker's /metrics, as {series: value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


def test_outside_client_sends_a_request_and_reads_its_prediction(
        worker: Worker, env: dict[str, str]) -> None:
    from confluent_kafka import Consumer, Producer

    bootstrap = env["INFERWATCH_KAFKA_BOOTSTRAP"]
    topics = Topics(env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    worker.start()
    request = {"id": "outside-1", "ts": time.time(), "model": "churn", "unit_id": "user-42",
               "features": {f"f{j}": 0.5 for j in range(8)}}
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topics.requests, json.dumps(request).encode(), key=b"outside-1")
    assert producer.flush(10) == 0

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "outside-test",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe([topics.predictions])
    found = None
    deadline = time.monotonic() + 60
    try:
        while found is None and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None and msg.key() == b"outside-1":
                found = json.loads(msg.value())
    finally:
        consumer.close()
    assert worker.stop() == 0, worker.tail()
    assert found is not None, worker.tail()
    assert found["request_id"] == "outside-1" and found["model"] == "churn"
    assert found["device"] in {"cpu", "cuda"} and found["model_version"] == "v1"
    assert 0.0 <= found["output"]["score"] <= 1.0
    assert found["latency"]["total_s"] >= found["latency"]["inference_s"] >= 0
