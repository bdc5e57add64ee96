"""Exact counts with a shadow, on the real broker, through a kill -9 of the worker.

A shadow version at 100% and at 30% of the requests: every request has exactly one
answering prediction (the predictions topic, read_committed) and the shadow exactly one
output per request the hash of its id picks, none for the others (the shadow-predictions
topic); ClickHouse holds the same, once each. The worker is killed without warning mid-run
and restarted: the transaction that carries a batch's answers carries its shadow outputs,
so the replay changes neither count.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from inference.registry import ModelStore
from inference.routing import in_share
from inference.shadow_binding import bind_shadow, shadow_salt
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, SimulationResult, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.events import Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

N = 6000
ROLES = "inference,sink"


def _outputs(kafka: KafkaSettings, topic: str) -> list[Prediction]:
    raw = asyncio.run(consume(kafka.bootstrap, topic, until=lambda r: False, timeout=3))
    return [msgspec.json.decode(m.value, type=Prediction) for m in raw]


@pytest.mark.parametrize("share", [1.0, 0.3])
def test_answers_and_shadow_outputs_are_exact_through_a_kill9(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path,
        share: float) -> None:
    # a store of this test's own: the shadow alias must not leak into the session's
    store = ModelStore(tmp_path / "models")
    shutil.copytree(model_dir, store.root)
    (v1,) = store.versions("churn")
    store.publish("churn", "v2", store.path_for("churn", v1))
    store.set_alias("churn", "champion", v1)  # the answers stay on v1
    bind_shadow(store, "churn", "v2", share if share < 1.0 else None)  # 1.0: the default
    worker.env["INFERWATCH_INFERENCE_MODEL_DIR"] = str(store.root)
    worker.env["INFERWATCH_INFERENCE_SHADOW_SHARE"] = "1.0"
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    worker.start(roles=ROLES)
    sent: list[SimulationResult] = []
    producer = threading.Thread(target=lambda: sent.append(asyncio.run(simulate(
        kafka, Scenario(count=N, rate=1500, seed=8, run_id="shadow", outcome_share=0.0)))))
    producer.start()
    asyncio.run(consume(kafka.bootstrap, topics.predictions, until=lambda r: len(r) >= 1500,
                        timeout=90))
    worker.kill9()
    time.sleep(1.0)
    worker.start(roles=ROLES)
    producer.join(timeout=120)
    assert sent and sent[0].requests == N

    ids = {f"shadow-{i:09d}" for i in range(N)}
    picked = {rid for rid in ids if in_share(rid, share, shadow_salt("churn"))}
    asyncio.run(consume(kafka.bootstrap, topics.predictions,
                        until=lambda r: len({m.key for m in r}) >= N, timeout=180))
    asyncio.run(consume(kafka.bootstrap, topics.shadow_predictions,
                        until=lambda r: len({m.key for m in r}) >= len(picked), timeout=60))
    answers = _outputs(kafka, topics.predictions)
    shadows = _outputs(kafka, topics.shadow_predictions)
    answered = Counter(p.request_id for p in answers)
    assert set(answered) == ids and set(answered.values()) == {1}, worker.tail()
    assert {p.model_version for p in answers} == {v1}
    shadowed = Counter(p.request_id for p in shadows)
    assert set(shadowed) == picked and set(shadowed.values()) == {1}, worker.tail()
    assert {(p.variant, p.model_version) for p in shadows} == {("shadow", "v2")}
    if share < 1.0:
        assert 0.25 * N < len(picked) < 0.35 * N

    time.sleep(3)  # the sink drains, then stops
    assert worker.stop() == 0, worker.tail()
    clickhouse = ClickHouseStore(f"chdb://{Path(env['INFERWATCH_CLICKHOUSE_PATH'])}")
    try:
        assert clickhouse.query("SELECT count(), uniqExact(request_id) FROM predictions"
                                ) == [(N, N)]
        assert clickhouse.query("SELECT count(), uniqExact(request_id) FROM shadow_predictions"
                                ) == [(len(picked), len(picked))]
        (linked,), = clickhouse.query(
            "SELECT count() FROM shadow_predictions AS s INNER JOIN predictions AS p "
            "ON s.request_id = p.request_id")
        assert linked == len(picked)
    finally:
        clickhouse.close()
