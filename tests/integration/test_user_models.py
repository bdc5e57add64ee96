"""On the real broker: one worker serves four models of the user's own, one of each kind.

The test builds each model itself, writes its ``model.json`` and its reference data, and
publishes it with the real command (``inferwatch models publish MODEL --version v1 --from
PATH --reference DATA``, through the CLI's main):

- ``churn``: TorchScript over the simulator's eight numeric features (CSV reference, with
  labels), fed by the simulator;
- ``plans``: a ``torch.export`` program over two numeric and two categorical inputs
  (Parquet reference), requests with categories, an unseen one among them;
- ``tickets``: a tiny randomly initialised BERT with a word-level tokenizer built here
  (kind transformers, text input, CSV reference of texts);
- ``risk``: kind entrypoint, a module shipped in the version folder whose factory
  builds the network and loads its weights (``torch.load(..., weights_only=True)``).

The real worker answers each request exactly once, and each answer is the model's own
output for the request's inputs, computed here directly (``allclose``, 1e-5), the text
model's embedding included.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from inference.model_spec import ModelSpec
from retrain.synthetic import FEATURES, FeatureGenerator
from streams.cli.main import main
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.codec import encode
from streams.wire.events import InferenceRequest, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume
from tests.integration.conftest import kafka_of as _kafka
from tests.text_models import direct_text, save_text_classifier

N = 300  # simulated requests to the TorchScript model
M = 120  # requests to each of the three others
PLANS = ["free", "pro", "team"]
REGIONS = ["eu", "us"]
WORDS = ["card", "charged", "twice", "refund", "order", "late", "never", "arrived", "great",
         "service", "thanks", "broken", "item", "my", "the", "was"]
RISK_MODULE = '''
import torch
from torch import nn


class Risk(nn.Module):
    """Logits of three classes from two numeric inputs and a region code."""

    def __init__(self):
        super().__init__()
        self.region = nn.Embedding(2, 3)
        self.head = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 3))

    def forward(self, numeric, categorical):
        return self.head(numeric) + self.region(categorical[:, 0])


def build(folder):
    net = Risk()
    net.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
    return net
'''


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """The store the test publishes into (the demo model is not needed here)."""
    return tmp_path / "models"


class Plans(nn.Module):
    """Logits of (numeric (n, 2) float32, categorical (n, 2) int64 plan and region codes)."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = nn.Embedding(len(PLANS), 2)
        self.region = nn.Embedding(len(REGIONS), 2)
        self.linear = nn.Linear(2, 2)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        return (self.linear(numeric) + self.plan(categorical[:, 0])
                + self.region(categorical[:, 1]))


def _publish(name: str, source: Path, data: Path, *extra: str) -> None:
    """``inferwatch models publish`` as a user runs it."""
    assert main(["models", "publish", name, "--version", "v1", "--from", str(source),
                 "--reference", str(data), "--device", "cpu", *extra]) == 0


def _churn(work: Path) -> nn.Module:
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(len(FEATURES), 16), nn.GELU(), nn.Linear(16, 2)).eval()
    (work / "churn").mkdir()
    torch.jit.save(torch.jit.script(net), str(work / "churn" / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "binary", "classes": ["stay", "churn"],
                         "inputs": {"numeric": [{"name": f} for f in FEATURES]}}
                        ).save(work / "churn")
    batch = FeatureGenerator(3).sample(2000)
    columns = {f: batch.features[:, j] for j, f in enumerate(FEATURES)}
    pacsv.write_csv(pa.table({**columns, "churned": batch.labels}), work / "churn.csv")
    _publish("churn", work / "churn", work / "churn.csv", "--label", "churned")
    return net


def _plans(work: Path) -> nn.Module:
    torch.manual_seed(1)
    net = Plans().eval()
    rng = np.random.default_rng(1)
    example = (torch.from_numpy(rng.normal(size=(4, 2)).astype(np.float32)),
               torch.zeros((4, 2), dtype=torch.int64))
    program = torch.export.export(net, example, dynamic_shapes=(
        {0: torch.export.Dim.DYNAMIC}, {0: torch.export.Dim.DYNAMIC}))
    (work / "plans").mkdir()
    torch.export.save(program, str(work / "plans" / "model.pt2"))
    ModelSpec.from_dict({
        "kind": "export", "task": "binary", "classes": ["browse", "buy"],
        "inputs": {"numeric": [{"name": "price"}, {"name": "age"}],
                   "categorical": [{"name": "plan", "vocabulary": PLANS, "default": "free"},
                                   {"name": "region", "vocabulary": REGIONS}]}}
    ).save(work / "plans")
    pq.write_table(pa.table({"price": rng.normal(10, 2, 1000), "age": rng.normal(40, 9, 1000),
                             "plan": rng.choice(PLANS, 1000).tolist(),
                             "region": rng.choice(REGIONS, 1000).tolist()}),
                   work / "plans.parquet")
    _publish("plans", work / "plans", work / "plans.parquet")
    return net


def _risk(work: Path) -> nn.Module:
    folder = work / "risk"
    folder.mkdir()
    (folder / "riskmodel.py").write_text(RISK_MODULE)
    spec = importlib.util.spec_from_file_location("riskmodel_here", folder / "riskmodel.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(3)
    net = module.Risk().eval()
    torch.save(net.state_dict(), folder / "weights.pt")
    ModelSpec.from_dict({
        "kind": "entrypoint", "entrypoint": "riskmodel:build", "task": "multiclass",
        "classes": ["low", "mid", "high"],
        "inputs": {"numeric": [{"name": "exposure"}, {"name": "score"}],
                   "categorical": [{"name": "region", "vocabulary": REGIONS}]}}).save(folder)
    rng = np.random.default_rng(3)
    pacsv.write_csv(pa.table({"exposure": rng.normal(size=500), "score": rng.normal(size=500),
                              "region": rng.choice(REGIONS, 500).tolist()}), work / "risk.csv")
    _publish("risk", folder, work / "risk.csv")
    return net


def _tickets(work: Path) -> tuple[object, object]:
    built = save_text_classifier(work / "tickets", WORDS, ["billing", "shipping", "praise"])
    rng = np.random.default_rng(4)
    texts = [" ".join(rng.choice(WORDS, size=k)) for k in rng.integers(2, 9, size=400)]
    (work / "tickets.csv").write_text("body\n" + "\n".join(texts) + "\n")
    _publish("tickets", work / "tickets", work / "tickets.csv")
    return built


def _requests(rng: np.random.Generator) -> list[InferenceRequest]:
    """M requests to each of plans (an unseen plan among them), risk and tickets."""
    out = []
    for i in range(M):
        plan = "gold" if i % 10 == 0 else str(rng.choice(PLANS))
        out += [
            InferenceRequest(id=f"plans-{i:04d}", ts=time.time(), model="plans",
                             features={"price": float(rng.normal(10, 2)),
                                       "age": float(rng.normal(40, 9))},
                             categorical={"plan": plan, "region": REGIONS[i % 2]}),
            InferenceRequest(id=f"risk-{i:04d}", ts=time.time(), model="risk",
                             features={"exposure": float(rng.normal()),
                                       "score": float(rng.normal())},
                             categorical={"region": REGIONS[(i // 2) % 2]}),
            InferenceRequest(id=f"tickets-{i:04d}", ts=time.time(), model="tickets",
                             features={}, text=" ".join(rng.choice(WORDS, size=1 + i % 9)))]
    return out


async def _send(kafka: KafkaSettings, requests: list[InferenceRequest]) -> None:
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        for req in requests:
            await producer.send(Topics(kafka.topic_prefix).requests, encode(req),
                                key=req.id.encode())
        await producer.flush()
    finally:
        await producer.stop()


def _predictions(kafka: KafkaSettings, n: int) -> list[Prediction]:
    """Every prediction on the topic, read until ``n`` have come and a while after (so a
    second answer to a request would be seen)."""
    topic = Topics(kafka.topic_prefix).predictions
    asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: len(r) >= n, timeout=120))
    raw = asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: False, timeout=5))
    return [msgspec.json.decode(m.value, type=Prediction) for m in raw]


def _probabilities(net: nn.Module, numeric: list[list[float]],
                   codes: list[list[int]] | None = None) -> np.ndarray:
    """The module's own class probabilities, called by hand."""
    args = [torch.tensor(numeric, dtype=torch.float32)]
    if codes is not None:
        args.append(torch.tensor(codes, dtype=torch.int64))
    with torch.no_grad():
        return torch.softmax(net(*args), dim=1).numpy()


def _assert_answers(preds: list[Prediction], expected: np.ndarray) -> None:
    assert {(p.model_version, p.error) for p in preds} == {("v1", None)}
    probs = np.array([p.output.probabilities for p in preds])
    np.testing.assert_allclose(probs, expected, atol=1e-5, rtol=0)
    assert [p.output.label for p in preds] == expected.argmax(axis=1).tolist()


def test_four_kinds_published_with_their_data_are_served_their_own_answers(
        worker: Worker, env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_INFERENCE_MODEL_DIR", env["INFERWATCH_INFERENCE_MODEL_DIR"])
    work = tmp_path / "build"
    work.mkdir()
    churn, plans, risk = _churn(work), _plans(work), _risk(work)
    bert, tok = _tickets(work)
    root = Path(env["INFERWATCH_INFERENCE_MODEL_DIR"])
    assert sorted(p.name for p in root.iterdir()) == ["churn", "plans", "risk", "tickets"]
    # publishing built each version's references from its data, the text one's embeddings
    assert (root / "churn" / "v1" / "performance_reference.json").is_file()
    assert (root / "plans" / "v1" / "reference_categories.json").is_file()
    assert (root / "tickets" / "embedding_reference.npy").is_file()
    kafka = _kafka(env)
    worker.start(roles="inference")
    requests = _requests(np.random.default_rng(9))
    asyncio.run(_send(kafka, requests))
    asyncio.run(simulate(kafka, Scenario(count=N, seed=5, run_id="own")))
    preds = _predictions(kafka, N + len(requests))
    assert worker.stop() == 0, worker.tail()

    ids = [p.request_id for p in preds]
    assert len(ids) == len(set(ids)) == N + len(requests), worker.tail()
    assert set(ids) == {f"own-{i:09d}" for i in range(N)} | {r.id for r in requests}
    by = {m: sorted((p for p in preds if p.model == m), key=lambda p: p.request_id)
          for m in ("churn", "plans", "risk", "tickets")}
    assert [len(v) for v in by.values()] == [N, M, M, M]

    churned = _probabilities(churn, [[p.features[f] for f in FEATURES] for p in by["churn"]])
    _assert_answers(by["churn"], churned)
    np.testing.assert_allclose([p.output.score for p in by["churn"]], churned[:, 1],
                               atol=1e-5, rtol=0)
    # an unseen plan is scored as the spec's default (free), and monitored as sent
    assert sum(p.categorical["plan"] == "gold" for p in by["plans"]) == M // 10
    _assert_answers(by["plans"], _probabilities(
        plans, [[p.features["price"], p.features["age"]] for p in by["plans"]],
        [[PLANS.index(p.categorical["plan"]) if p.categorical["plan"] in PLANS else 0,
          REGIONS.index(p.categorical["region"])] for p in by["plans"]]))
    _assert_answers(by["risk"], _probabilities(
        risk, [[p.features["exposure"], p.features["score"]] for p in by["risk"]],
        [[REGIONS.index(p.categorical["region"])] for p in by["risk"]]))
    texts = {r.id: str(r.text) for r in requests if r.model == "tickets"}
    probs, pooled = direct_text(bert, tok, [texts[p.request_id] for p in by["tickets"]])
    _assert_answers(by["tickets"], probs)
    # the text model's own embedding rides on its predictions, for embedding drift
    assert all(p.embedding is not None for p in by["tickets"])
    np.testing.assert_allclose(np.array([p.embedding for p in by["tickets"]], dtype=float),
                               pooled, atol=1e-5, rtol=0)
