"""A 4-class model on the real broker with a real worker: one class's inputs drift and
the page names that class.

The model (TorchScript, ``multiclass`` spec, classes ``a`` to ``d``) tells four clusters of
(x, y) apart, nearly always right. True labels arrive as outcomes; the outcome join counts
the confusion matrix, and the decision step reports every class's recall and precision
per window. Then the inputs of class 2 (``c``) move onto class 3's cluster: class 2's
recall falls from about 0.99 to about 0, the others stay, and the ``class_recall`` page
names class 2 (its label, its evidence and its summary). The baseline is the first
labelled window's: the join's labels can reach the decision step after the monitor's
summaries have closed the first windows, so no healthy window is sure to be judged.
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

from inference.model_spec import ModelSpec
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import DetectorReport, InferenceRequest, Outcome
from streams.wire.topics import Topics
from tests.integration.conftest import RELAXED_LATENCY, REPO, Worker, consume
from tests.integration.conftest import alerts_of as _alerts
from tests.integration.conftest import kafka_of as _kafka

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own

CENTERS = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
DRIFTED = 2  # its inputs move onto class 3's cluster


def _model() -> torch.nn.Module:
    """Nearest center as logits: ``2 mu_c . x - |mu_c|^2`` per class."""
    linear = torch.nn.Linear(2, 4)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(2 * CENTERS).float())
        linear.bias.copy_(torch.from_numpy(-(CENTERS ** 2).sum(axis=1)).float())
    return linear.eval()


def _rows(rng: np.random.Generator, n: int, drifted: bool) -> tuple[np.ndarray, np.ndarray]:
    truth = rng.integers(0, 4, n)
    x = CENTERS[truth] + rng.normal(0, 0.6, (n, 2))
    if drifted:
        x[truth == DRIFTED] += CENTERS[3] - CENTERS[DRIFTED]
    return x, truth


def _publish(env: dict[str, str], work: Path) -> None:
    folder = work / "zones-v1"
    folder.mkdir()
    torch.jit.save(torch.jit.script(_model()), str(folder / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "multiclass",
                         "classes": ["a", "b", "c", "d"],
                         "inputs": {"numeric": [{"name": "x"}, {"name": "y"}]}}).save(folder)
    x, truth = _rows(np.random.default_rng(0), 3000, drifted=False)
    pq.write_table(pa.table({"x": x[:, 0], "y": x[:, 1], "zone": truth}), work / "ref.parquet")
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "models", "publish", "zones", "--version", "v1",
         "--from", str(folder), "--reference", str(work / "ref.parquet"), "--label", "zone",
         "--device", "cpu"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


async def _send(kafka: KafkaSettings, phases: list[tuple[int, bool]]) -> int:
    topics = Topics(kafka.topic_prefix)
    producer = kafka_clients.producer(kafka)
    await producer.start()
    rng, sent = np.random.default_rng(9), 0
    try:
        for count, drifted in phases:
            for chunk in range(0, count, 250):
                x, truth = _rows(rng, min(250, count - chunk), drifted)
                for i, (row, label) in enumerate(zip(x, truth, strict=True)):
                    rid = f"zones-{sent + chunk + i:06d}"
                    await producer.send(topics.requests, encode(InferenceRequest(
                        id=rid, ts=time.time(), model="zones",
                        features={"x": float(row[0]), "y": float(row[1])})), key=rid.encode())
                    await producer.send(topics.outcomes, encode(Outcome(
                        request_id=rid, ts=time.time(), kind="label", value=float(label))),
                        key=rid.encode())
                await asyncio.sleep(0.1)
            sent += count
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def test_one_classes_drifted_inputs_page_naming_the_class(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "models"
    env.update(RELAXED_LATENCY)
    env["INFERWATCH_INFERENCE_MODEL_DIR"] = str(root)
    _publish(env, tmp_path)
    kafka = _kafka(env)
    topics = Topics(kafka.topic_prefix)
    worker.start()
    asyncio.run(_send(kafka, [(3000, False), (5000, True)]))
    asyncio.run(consume(kafka.bootstrap, topics.alerts, timeout=120,
                        until=lambda r: any(b"class_recall" in m.value for m in r)))
    reports = [r for r in (msgspec.json.decode(m.value, type=DetectorReport) for m in
                           asyncio.run(consume(kafka.bootstrap, topics.reports, timeout=5,
                                               until=lambda r: False)))
               if r.detector == "class_recall"]
    alerts = _alerts(kafka)
    assert worker.stop() == 0, worker.tail()

    pages = [a for a in alerts if a.labels.get("detector") == "class_recall"]
    assert [(a.status, a.severity) for a in pages] == [("firing", "page")], alerts
    page = pages[0]
    assert page.labels["class"] == str(DRIFTED) and page.evidence["class"] == str(DRIFTED)
    assert float(page.evidence["recall"]) < 0.2 < 0.9 < float(page.evidence["baseline_recall"])
    assert f"class recall: class {DRIFTED} recall" in page.annotations["summary"]
    # the baseline is the first labelled window's (healthy traffic); in the page's window
    # only class 2 fell
    baseline = [float(v) for v in str(page.evidence["baseline_recalls"]).split(",")]
    recalls = [float(v) for v in str(page.evidence["recalls"]).split(",")]
    assert len(baseline) == len(recalls) == 4 and min(baseline) > 0.9
    assert [r > 0.9 for r in recalls] == [True, True, False, True]
    assert reports and all(len(str(r.evidence["precisions"]).split(",")) == 4
                           for r in reports)
    print(f"\n4-class acceptance: baseline recalls {page.evidence['baseline_recalls']}; "
          f"paged naming class {page.labels['class']}: recall {page.evidence['recall']} "
          f"against baseline {page.evidence['baseline_recall']}, recalls "
          f"{page.evidence['recalls']}, precisions {page.evidence['precisions']}")
