"""On the real broker: a new topic in a served text model's requests pages from the model's
own embeddings, once, naming the model, and resolves when the topic goes away.

The model is the user's: a tiny randomly initialised BERT over a word-level vocabulary
(:mod:`tests.text_models`), published with the real command from a CSV of
reference texts about billing and shipping. Publishing runs the model over them and
saves its own embeddings as the reference (``embedding_reference.npy``, in the version
and at the model's level, where the worker reads it). The requests then talk about
billing and shipping, then half of them about space (words the reference never used:
disjoint token embeddings, so the pooled hidden states move), then billing and shipping
again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import numpy as np
import pytest

from streams.cli.main import main
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import DetectorReport, InferenceRequest
from streams.wire.topics import Topics
from tests.integration.conftest import RELAXED_LATENCY, Worker, consume
from tests.integration.conftest import alerts_of as _alerts
from tests.integration.conftest import kafka_of as _kafka
from tests.text_models import save_text_classifier

OLD = ["card", "charged", "twice", "refund", "invoice", "bill", "order", "late", "parcel",
       "arrived", "courier", "tracking"]
NEW = ["rocket", "orbit", "planet", "launch", "crater", "comet", "galaxy", "nebula", "moon",
       "star", "astronaut", "telescope"]
#: (requests, share about the new topic) per phase
PHASES = [(4000, 0.0), (4000, 0.5), (5000, 0.0)]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """The store the test publishes into (the demo model is not needed here)."""
    return tmp_path / "models"


def _texts(rng: np.random.Generator, words: list[str], n: int) -> list[str]:
    return [" ".join(rng.choice(words, size=k)) for k in rng.integers(3, 9, size=n)]


def _publish(work: Path) -> None:
    save_text_classifier(work / "tickets", OLD + NEW, ["billing", "shipping", "praise"])
    (work / "tickets.csv").write_text(
        "body\n" + "\n".join(_texts(np.random.default_rng(0), OLD, 2000)) + "\n")
    assert main(["models", "publish", "tickets", "--version", "v1", "--from",
                 str(work / "tickets"), "--reference", str(work / "tickets.csv"),
                 "--device", "cpu"]) == 0


async def _send(kafka: KafkaSettings) -> dict[str, float]:
    """Send the phases at about 2,500 requests/s; returns when the new topic began and
    ended (the time of its first and of the next phase's first request)."""
    topic = Topics(kafka.topic_prefix).requests
    producer = kafka_clients.producer(kafka)
    await producer.start()
    rng = np.random.default_rng(7)
    marks: dict[str, float] = {}
    sent = 0
    try:
        for phase, (count, new) in enumerate(PHASES):
            marks[f"phase{phase}"] = time.time()
            for chunk in range(0, count, 250):
                for i in range(sent + chunk, sent + min(count, chunk + 250)):
                    words = NEW if rng.random() < new else OLD
                    req = InferenceRequest(id=f"text-{i:06d}", ts=time.time(), model="tickets",
                                           features={}, text=_texts(rng, words, 1)[0])
                    await producer.send(topic, encode(req), key=req.id.encode())
                await asyncio.sleep(0.1)
            sent += count
        await producer.flush()
    finally:
        await producer.stop()
    return marks


def test_a_new_topic_pages_from_the_models_own_embeddings_then_resolves(
        worker: Worker, env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_INFERENCE_MODEL_DIR", env["INFERWATCH_INFERENCE_MODEL_DIR"])
    _publish(tmp_path)
    root = Path(env["INFERWATCH_INFERENCE_MODEL_DIR"])
    assert (root / "tickets" / "embedding_reference.npy").is_file()
    env.update(RELAXED_LATENCY)
    kafka = _kafka(env)
    topics = Topics(kafka.topic_prefix)
    worker.start()
    marks = asyncio.run(_send(kafka))
    # the worker scores 13,000 texts through BERT after the last is sent: on a loaded
    # machine the resolve comes minutes later (it returns as soon as it has)
    asyncio.run(consume(kafka.bootstrap, topics.alerts, timeout=300, until=lambda r: any(
        b"embedding_drift" in m.value and b'"resolved"' in m.value for m in r)))
    time.sleep(3)  # a second page would be out by now
    alerts = _alerts(kafka)
    reports = [msgspec.json.decode(m.value, type=DetectorReport) for m in asyncio.run(
        consume(kafka.bootstrap, topics.reports, until=lambda r: False, timeout=3))]
    assert worker.stop() == 0, worker.tail()

    pages = [a for a in alerts if a.severity == "page"]
    embedding = [a for a in pages if a.labels["detector"] == "embedding_drift"]
    assert [(a.status, a.labels["model"]) for a in embedding] == [
        ("firing", "tickets"), ("resolved", "tickets")], alerts
    # the one page: the model's answers hardly move (its head is untrained), so neither
    # prediction drift nor anything else pages
    assert pages == embedding, [(a.labels, a.status) for a in pages]
    fired = embedding[0]
    assert fired.evidence["reference"] == "file"  # the published model's own embeddings
    assert float(fired.evidence["novel_share"]) > 0.1, fired.evidence
    assert "tickets" in fired.annotations["summary"]
    assert embedding[1].fingerprint == fired.fingerprint
    # the page names requests about the new topic to read first
    examples = str(fired.evidence["examples"]).split(", ")
    assert len(examples) == 3 and all(int(r.removeprefix("text-")) >= PHASES[0][0]
                                      for r in examples), examples
    tested = [r for r in reports if r.detector == "embedding_drift"]
    drifted = [r for r in tested if r.decision == "drift"]
    assert drifted and all(r.window_end >= marks["phase1"] for r in drifted), tested
    # before the topic came, no window was drift
    assert [r for r in tested if r.window_end < marks["phase1"]], tested
