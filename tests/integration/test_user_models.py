"""On the real broker: a worker serves the user's own TorchScript model from the registry.

The test builds its model, saves it with its ``model.json`` (numeric inputs only: the
requests' categorical and text inputs are the inference stage's part of issue 20), and
publishes the folder. The real worker answers each request exactly once, and each answer
is the model's own output for the request's features, computed here directly.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import numpy as np
import torch
from torch import nn

from inference.model_spec import ModelSpec
from inference.registry import ModelStore
from retrain.synthetic import FEATURES
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.events import Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

N = 300


def _fraud_scorer(folder: Path) -> nn.Module:
    """A small scripted network over the simulator's features, saved in ``folder``."""
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(len(FEATURES), 16), nn.GELU(), nn.Linear(16, 2)).eval()
    folder.mkdir(parents=True)
    torch.jit.save(torch.jit.script(net), str(folder / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "binary", "classes": ["ok", "fraud"],
                         "inputs": {"numeric": [{"name": f} for f in FEATURES]}}).save(folder)
    return net


def _predictions(kafka: KafkaSettings, n: int) -> list[Prediction]:
    """Every prediction on the topic, read until ``n`` have come and a while after (so a
    second answer to a request would be seen)."""
    topic = Topics(kafka.topic_prefix).predictions
    asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: len(r) >= n, timeout=120))
    raw = asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: False, timeout=5))
    return [msgspec.json.decode(m.value, type=Prediction) for m in raw]


def test_a_torchscript_model_is_served_its_own_answers(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    net = _fraud_scorer(tmp_path / "build")
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", tmp_path / "build")
    env["INFERWATCH_INFERENCE_MODEL_DIR"] = str(store.root)
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    worker.start(roles="inference")
    asyncio.run(simulate(kafka, Scenario(count=N, seed=5, run_id="own")))
    preds = _predictions(kafka, N)
    assert worker.stop() == 0, worker.tail()

    ids = [p.request_id for p in preds]
    assert len(ids) == N and set(ids) == {f"own-{i:09d}" for i in range(N)}, worker.tail()
    assert {(p.model_version, p.error) for p in preds} == {("v1", None)}
    x = np.array([[p.features[f] for f in FEATURES] for p in preds], dtype=np.float32)
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), dim=1).numpy()
    np.testing.assert_allclose([p.output.probabilities for p in preds], expected,
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose([p.output.score for p in preds], expected[:, 1],
                               atol=1e-5, rtol=0)
    assert [p.output.label for p in preds] == expected.argmax(axis=1).tolist()
