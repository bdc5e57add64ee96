"""A user's regression model on the real broker with a real worker process.

The model is a TorchScript module over two numeric inputs that answers one value per row,
with a ``regression`` spec. It is published by ``inferwatch models publish --label`` with
reference data whose label column holds the true values, so the version carries its MAE
on the holdout (``error_reference.json``). Served, every prediction carries a value equal
to the model's own output. True values arrive as outcomes of kind ``value``; when the
world moves (the true values rise by 2.5 while the inputs stay as they were) the model
becomes biased, and the worker pages with its MAE against the reference.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from detectors.reference.regression import FILE_NAME, ErrorReference
from inference.model_spec import ModelSpec
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import InferenceRequest, Outcome, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import RELAXED_LATENCY, REPO, Worker, consume
from tests.integration.conftest import alerts_of as _alerts
from tests.integration.conftest import kafka_of as _kafka

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own

WEIGHTS, BIAS, NOISE = (3.0, -0.5), 10.0, 1.0
SHIFT = 2.5


class _Price(torch.nn.Module):
    """A price from (size, age): the model the test publishes, one value per row."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([WEIGHTS]))
            self.linear.bias.fill_(BIAS)

    def forward(self, numeric: torch.Tensor) -> torch.Tensor:
        return self.linear(numeric)


def _inputs(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.column_stack([rng.normal(5, 1, n), rng.normal(20, 5, n)])


def _truth(x: np.ndarray, rng: np.random.Generator, shift: float) -> np.ndarray:
    return x @ np.array(WEIGHTS) + BIAS + shift + rng.normal(0, NOISE, len(x))


def _publish(env: dict[str, str], work: Path) -> None:
    folder = work / "price-v1"
    folder.mkdir()
    torch.jit.save(torch.jit.script(_Price().eval()), str(folder / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "regression",
                         "inputs": {"numeric": [{"name": "size"}, {"name": "age"}]}}
                        ).save(folder)
    rng = np.random.default_rng(0)
    x = _inputs(rng, 5000)
    pq.write_table(pa.table({"size": x[:, 0], "age": x[:, 1],
                             "price": _truth(x, rng, 0.0)}), work / "ref.parquet")
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "models", "publish", "price", "--version", "v1",
         "--from", str(folder), "--reference", str(work / "ref.parquet"), "--label", "price",
         "--device", "cpu"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "holdout MAE: " in done.stdout, done.stdout


async def _send(kafka: KafkaSettings, phases: list[tuple[int, float]], first: int = 0) -> int:
    """Send each phase's requests and, at once, the true value of each (shifted by the
    phase's shift), at about 2,500 requests/s; returns how many were sent. Request ids
    are numbered from ``first``."""
    topics = Topics(kafka.topic_prefix)
    producer = kafka_clients.producer(kafka)
    await producer.start()
    rng, sent = np.random.default_rng(7 + first), first
    try:
        for count, shift in phases:
            for chunk in range(0, count, 250):
                x = _inputs(rng, min(250, count - chunk))
                for i, (row, truth) in enumerate(zip(x, _truth(x, rng, shift), strict=True)):
                    rid = f"price-{sent + chunk + i:06d}"
                    req = InferenceRequest(id=rid, ts=time.time(), model="price",
                                           features={"size": float(row[0]), "age": float(row[1])})
                    await producer.send(topics.requests, encode(req), key=rid.encode())
                    out = Outcome(request_id=rid, ts=time.time(), kind="value",
                                  value=float(truth))
                    await producer.send(topics.outcomes, encode(out), key=rid.encode())
                await asyncio.sleep(0.1)
            sent += count
        await producer.flush()
    finally:
        await producer.stop()
    return sent - first


def test_a_regression_model_is_served_its_own_values_and_pages_on_mae(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "models"
    env.update(RELAXED_LATENCY)
    env["INFERWATCH_INFERENCE_MODEL_DIR"] = str(root)
    _publish(env, tmp_path)
    reference = ErrorReference.load(root / "price" / "v1" / FILE_NAME)
    # the model is the truth without its noise: its holdout MAE is E|N(0, 1)| = 0.80
    assert reference.mae == pytest.approx(NOISE * np.sqrt(2 / np.pi), rel=0.1)
    kafka = _kafka(env)
    topics = Topics(kafka.topic_prefix)
    worker.start()
    total = asyncio.run(_send(kafka, [(4000, 0.0), (6000, SHIFT)]))
    preds = [msgspec.json.decode(m.value, type=Prediction) for m in asyncio.run(consume(
        kafka.bootstrap, topics.predictions, until=lambda r: len(r) >= total, timeout=120))]
    asyncio.run(consume(kafka.bootstrap, topics.alerts, timeout=90,
                        until=lambda r: any(b"regression_error" in m.value for m in r)))
    alerts = _alerts(kafka)
    assert worker.stop() == 0, worker.tail()

    assert len({p.request_id for p in preds}) == len(preds) == total
    assert {(p.model_version, p.error) for p in preds} == {("v1", None)}
    x = torch.tensor([[p.features["size"], p.features["age"]] for p in preds])
    module = torch.jit.load(str(root / "price" / "v1" / "model.ts"))
    with torch.no_grad():
        own = module(x).numpy().ravel()
    np.testing.assert_allclose([p.output.predicted for p in preds], own, rtol=1e-6, atol=1e-4)
    assert [p.output.score for p in preds] == [p.output.predicted for p in preds]

    pages = [a for a in alerts if a.labels.get("detector") == "regression_error"]
    assert [(a.status, a.severity) for a in pages] == [("firing", "page")], alerts
    fired = pages[0]
    # biased by SHIFT: the MAE is about E|N(2.5, 1)| = 2.5, three times the reference's
    assert fired.evidence["mae"] == pytest.approx(SHIFT, rel=0.2)
    assert fired.evidence["bias"] == pytest.approx(-SHIFT, rel=0.2)
    assert fired.evidence["reference_mae"] == pytest.approx(reference.mae, abs=1e-6)
    summary = fired.annotations["summary"]
    assert f"MAE {fired.evidence['mae']} against reference {fired.evidence['reference_mae']}" \
        in summary, summary
    print(f"\nregression acceptance: reference MAE {reference.mae:.4f} on {reference.n} "
          f"holdout rows; paged with MAE {fired.evidence['mae']} (bias "
          f"{fired.evidence['bias']}, RMSE {fired.evidence['rmse']}) on "
          f"{fired.evidence['valued']:.0f} values")
