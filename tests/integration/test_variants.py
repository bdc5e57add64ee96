"""On the real broker: a worker serves variants A and B from two registry versions.

Each prediction on the topic names the version that answered, and scores as that
version's artifact does; a model update moves the variant bound to ``latest`` and leaves
the pinned one where it is; a binding to a version that does not exist stops the worker
at start, naming the setting.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import torch
from aiokafka import AIOKafkaProducer

from inference.registry import ModelStore
from inference.routing import VariantRouter
from inference.torch_predictor import TorchPredictor
from retrain.synthetic import FEATURES
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.codec import encode
from streams.wire.events import ModelVersionPublished, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

N = 400
SPLIT = {"A": 0.5, "B": 0.5}


def _publish_perturbed(store: ModelStore, source: Path, version: str, seed: int) -> None:
    """Publish ``source`` (a version folder) as ``version`` with its weights perturbed."""
    build = store.root.parent / f"build-{version}"
    shutil.copytree(source, build)
    blob = torch.load(build / "model.pt", weights_only=True)
    gen = torch.Generator().manual_seed(seed)
    blob["state_dict"] = {k: v + 0.5 * torch.randn(v.shape, generator=gen)
                          if k.startswith("layers.") else v
                          for k, v in blob["state_dict"].items()}
    blob["metadata"] = {**blob["metadata"], "version": version}
    torch.save(blob, build / "model.pt")
    store.publish("churn", version, build)


def _store(model_dir: Path, tmp_path: Path) -> ModelStore:
    """A store of its own: the session's churn v1, and v2 with other weights."""
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", model_dir / "churn" / "v1")
    _publish_perturbed(store, store.path_for("churn", "v1"), "v2", seed=2)
    return store


def _predictions(kafka: KafkaSettings, n: int) -> list[Prediction]:
    topic = Topics(kafka.topic_prefix).predictions
    raw = asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: len(r) >= n, timeout=120))
    return [msgspec.json.decode(m.value, type=Prediction) for m in raw]


def _check_served(store: ModelStore, preds: list[Prediction], versions: dict[str, str]) -> None:
    """Each variant's predictions name its version and score as that version does."""
    router = VariantRouter(SPLIT)
    for variant, version in versions.items():
        mine = [p for p in preds if p.variant == variant]
        assert len(mine) > N // 4, f"variant {variant} got {len(mine)} of {len(preds)}"
        assert {p.model_version for p in mine} == {version}
        assert all(router.assign(p.unit_id or p.request_id) == variant for p in mine)
        x = np.array([[p.features[f] for f in FEATURES] for p in mine])
        model = TorchPredictor.load(store.path_for("churn", version), "cpu", warmup=False)
        np.testing.assert_allclose([p.output.score for p in mine],
                                   model.predict_batch(x).scores, rtol=1e-5, atol=1e-6)


async def _announce(kafka: KafkaSettings, update: ModelVersionPublished) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(Topics(kafka.topic_prefix).model_updates,
                                     encode(update), key=update.model.encode())
    finally:
        await producer.stop()


def test_variants_are_served_their_versions_and_reload_per_variant(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    store = _store(model_dir, tmp_path)
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root),
                "INFERWATCH_INFERENCE_VARIANTS": "A=0.5,B=0.5",
                "INFERWATCH_INFERENCE_VARIANT_VERSIONS": "churn:A=v1"})  # B: latest
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    worker.start(roles="inference")
    asyncio.run(simulate(kafka, Scenario(count=N, seed=3, run_id="ab1")))
    first = _predictions(kafka, N)
    assert len(first) == N, worker.tail()
    _check_served(store, first, {"A": "v1", "B": "v2"})

    # a new version is published and announced: B (latest) moves to it, A stays on v1
    _publish_perturbed(store, store.path_for("churn", "v1"), "v3", seed=3)
    asyncio.run(_announce(kafka, ModelVersionPublished(
        model="churn", version="v3", artifact=str(store.path_for("churn", "v3")))))
    deadline = time.monotonic() + 60
    while "variants now served {'A': 'v1', 'B': 'v3'}" not in worker.log.read_text():
        assert time.monotonic() < deadline, f"the update was not applied:\n{worker.tail()}"
        time.sleep(0.3)
    asyncio.run(simulate(kafka, Scenario(count=N, seed=4, run_id="ab2")))
    second = [p for p in _predictions(kafka, 2 * N) if p.request_id.startswith("ab2-")]
    assert worker.stop() == 0, worker.tail()
    assert len(second) == N
    _check_served(store, second, {"A": "v1", "B": "v3"})


def test_a_binding_to_an_unknown_version_stops_the_worker_at_start(
        env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    store = _store(model_dir, tmp_path)
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root),
                "INFERWATCH_INFERENCE_VARIANTS": "A=0.5,B=0.5",
                "INFERWATCH_INFERENCE_VARIANT_VERSIONS": "churn:B=v9"})
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker", "--roles", "inference"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert ("inferwatch: INFERWATCH_INFERENCE_VARIANT_VERSIONS: churn:B=v9: 'churn' has no "
            "version 'v9'") in done.stderr
    assert "published: v1, v2" in done.stderr
