"""A served model with a categorical input, on the real broker with a real worker process.

The model is the user's own: a TorchScript module over a numeric matrix and a column of
category codes, published by writing its version folder (model.json, the artifact, the
category reference) with ``ModelStore.publish``. A new category in 20% of one segment's
requests pages once, naming the feature, the category and the segment, and resolves when
the category goes away; a request missing the input is answered with an error, counted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import numpy as np
import torch

from detectors.reference.categories import FILE_NAME, CategoryProfile
from inference.model_spec import ModelSpec
from inference.registry import ModelStore
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import InferenceRequest, MonitorSummary, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import RELAXED_LATENCY, Worker, consume
from tests.integration.conftest import alerts_of as _alerts
from tests.integration.conftest import kafka_of as _kafka

PLANS = ["free", "pro", "team"]
SHARES = [0.5, 0.3, 0.2]
REGIONS = ["eu", "us", "apac"]


class _Shop(torch.nn.Module):
    """Logits of (numeric (n, 2) float32, categorical (n, 1) int64 plan codes)."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = torch.nn.Embedding(len(PLANS), 2)
        self.linear = torch.nn.Linear(2, 2)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        return self.linear(numeric) + self.plan(categorical[:, 0])


def _publish(root: Path, work: Path) -> None:
    torch.manual_seed(0)
    folder = work / "shop-v1"
    folder.mkdir()
    torch.jit.save(torch.jit.script(_Shop().eval()), str(folder / "model.ts"))
    ModelSpec.from_dict({
        "kind": "torchscript", "task": "binary", "classes": ["browse", "buy"],
        "inputs": {"numeric": [{"name": "price"}, {"name": "age"}],
                   "categorical": [{"name": "plan", "vocabulary": PLANS,
                                    "default": "free"}]}}).save(folder)
    rng = np.random.default_rng(0)
    CategoryProfile.from_columns({"plan": list(rng.choice(PLANS, 20_000, p=SHARES))},
                                 {"plan": PLANS}).save(folder / FILE_NAME)
    ModelStore(root).publish("shop", "v1", folder)


def _requests(rng: np.random.Generator, start: int, n: int, new: float) -> list[InferenceRequest]:
    """``new``: the share of region=eu's requests whose plan is 'gold', outside the
    vocabulary (scored with the spec's default, 'free'; monitored as sent)."""
    out = []
    for i in range(start, start + n):
        region = REGIONS[i % 3]
        plan = "gold" if region == "eu" and rng.random() < new else str(
            rng.choice(PLANS, p=SHARES))
        out.append(InferenceRequest(
            id=f"shop-{i:06d}", ts=time.time(), model="shop", unit_id=f"u{i}",
            features={"price": float(rng.normal(10, 2)), "age": float(rng.normal(40, 9))},
            categorical={"plan": plan}, segment={"region": region}))
    return out


async def _send(kafka: KafkaSettings, phases: list[tuple[int, float]], missing: int) -> int:
    """Send the phases (count, new share) at about 2,500 requests/s, then ``missing``
    requests without the age (no default); returns how many were sent."""
    topic = Topics(kafka.topic_prefix).requests
    producer = kafka_clients.producer(kafka)
    await producer.start()
    rng = np.random.default_rng(7)
    sent = 0
    try:
        for count, new in phases:
            for chunk in range(0, count, 250):
                for req in _requests(rng, sent + chunk, min(250, count - chunk), new):
                    await producer.send(topic, encode(req), key=req.id.encode())
                await asyncio.sleep(0.1)
            sent += count
        for i in range(missing):
            req = InferenceRequest(id=f"nomiss-{i}", ts=time.time(), model="shop",
                                   features={"price": 10.0}, categorical={"plan": "pro"},
                                   segment={"region": "us"})
            await producer.send(topic, encode(req), key=req.id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    return sent + missing


def _model_scores(preds: list[Prediction], root: Path) -> np.ndarray:
    """The published model's own P(buy) for ``preds``' inputs, 'gold' as its default."""
    module = torch.jit.load(str(root / "shop" / "v1" / "model.ts"))
    numeric = torch.tensor([[p.features["price"], p.features["age"]] for p in preds])
    codes = torch.tensor([[PLANS.index(p.categorical["plan"]) if p.categorical["plan"] in PLANS
                           else 0] for p in preds])
    with torch.no_grad():
        return torch.softmax(module(numeric, codes), dim=1)[:, 1].numpy()


def test_a_new_category_in_one_segment_pages_once_naming_it_then_resolves(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "models"
    _publish(root, tmp_path)
    env.update(RELAXED_LATENCY)
    env["INFERWATCH_INFERENCE_MODEL_DIR"] = str(root)
    kafka = _kafka(env)
    topics = Topics(kafka.topic_prefix)
    worker.start()
    total = asyncio.run(_send(kafka, [(6000, 0.0), (8000, 0.2), (8000, 0.0)], missing=5))
    preds = [msgspec.json.decode(m.value, type=Prediction) for m in asyncio.run(consume(
        kafka.bootstrap, topics.predictions, until=lambda r: len(r) >= total, timeout=90))]
    asyncio.run(consume(kafka.bootstrap, topics.alerts, timeout=60, until=lambda r: sum(
        b'"resolved"' in m.value for m in r) >= 1))
    time.sleep(3)  # a second page would be out by now
    alerts = _alerts(kafka)
    summaries = [msgspec.json.decode(m.value, type=MonitorSummary) for m in asyncio.run(
        consume(kafka.bootstrap, topics.summaries, until=lambda r: False, timeout=3))]
    assert worker.stop() == 0, worker.tail()

    # one prediction per request; gold is scored as the default names, the requests with
    # no age (no default) are answered with their reason and counted as errors
    assert len({p.request_id for p in preds}) == len(preds) == total
    errors = {p.request_id: p.error for p in preds if p.error is not None}
    assert errors == {f"nomiss-{i}": "invalid input: age: missing" for i in range(5)}
    assert all(p.output.label == -1 for p in preds if p.error is not None)
    assert sum(s.errors for s in summaries if s.model == "shop") == 5
    gold = [p for p in preds if p.categorical.get("plan") == "gold"]
    assert len(gold) > 400 and all(p.error is None and p.output.label >= 0 for p in gold)
    scored = _model_scores(gold[:20], root)
    assert np.allclose([p.output.score for p in gold[:20]], scored, atol=1e-5)

    pages = [a for a in alerts if a.severity == "page"]
    assert [(a.status, a.labels["detector"]) for a in pages] == [
        ("firing", "category_drift"), ("resolved", "category_drift")], alerts
    fired = pages[0]
    assert (fired.labels["feature"], fired.labels["segment"]) == ("plan", "region=eu")
    assert fired.evidence["category"] == "gold"
    assert all(w in fired.annotations["summary"] for w in ("plan", "gold", "region=eu"))
    assert pages[1].fingerprint == fired.fingerprint
