"""kill -9 the worker mid-stream and restart it: nothing lost, nothing stored twice."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import msgspec

from retrain.synthetic import Drift
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, SimulationResult, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.events import Alert, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume, judged_after

N = 15000


def test_kill9_mid_stream_loses_nothing_and_duplicates_nothing(
        worker: Worker, env: dict[str, str]) -> None:
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    worker.start()
    sent: list[SimulationResult] = []
    producer = threading.Thread(target=lambda: sent.append(asyncio.run(simulate(
        kafka, Scenario(count=N, rate=2500, seed=3, run_id="crash", outcome_share=0.2)))))
    producer.start()

    # let the worker get well into the stream, then kill it without warning
    asyncio.run(consume(kafka.bootstrap, topics.predictions, until=lambda r: len(r) >= 3000,
                        timeout=60))
    worker.kill9()
    time.sleep(1.0)
    worker.start()
    producer.join(timeout=120)
    assert sent and sent[0].requests == N

    asyncio.run(consume(kafka.bootstrap, topics.predictions,
                        until=lambda r: len({m.key for m in r}) >= N, timeout=180))
    raw = asyncio.run(consume(kafka.bootstrap, topics.predictions, until=lambda r: False,
                              timeout=3))
    ids = [msgspec.json.decode(m.value, type=Prediction).request_id for m in raw]
    assert set(ids) == {f"crash-{i:09d}" for i in range(N)}, worker.tail()
    # transactions: the killed worker's uncommitted outputs were aborted, never read
    assert len(ids) == N

    # the sink drains, then stops; ClickHouse has every prediction and outcome once
    time.sleep(3)
    assert worker.stop() == 0, worker.tail()
    store = ClickHouseStore(f"chdb://{Path(env['INFERWATCH_CLICKHOUSE_PATH'])}")
    try:
        (count, distinct), = store.query(
            "SELECT count(), uniqExact(request_id) FROM predictions")
        assert (count, distinct) == (N, N)
        (outcomes, distinct_outcomes), = store.query(
            "SELECT count(), uniqExact(request_id) FROM outcomes")
        assert outcomes == distinct_outcomes == sent[0].outcomes
    finally:
        store.close()


def test_a_firing_alert_survives_kill9_and_pages_once(worker: Worker, env: dict[str, str]) -> None:
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    drift = Drift("f2", shift=2.0)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=5000, seed=4, run_id="before", drift_at=1000,
                                         drift=drift)))
    asyncio.run(consume(kafka.bootstrap, topics.alerts, until=lambda r: len(r) >= 1,
                        timeout=90))
    worker.kill9()
    worker.start()
    # windows after the restart are judged (drift still firing, so no new page)
    judged_after(kafka, Scenario(count=4000, seed=5, run_id="after", drift_at=0, drift=drift),
                 worker)
    alerts = [msgspec.json.decode(m.value, type=Alert) for m in asyncio.run(
        consume(kafka.bootstrap, topics.alerts, until=lambda r: False, timeout=3))]
    assert worker.stop() == 0, worker.tail()
    drift_alerts = [(a.status, a.labels["detector"]) for a in alerts
                    if a.labels["detector"] == "feature_drift"]
    assert drift_alerts == [("firing", "feature_drift")], worker.tail()
    assert "decision state restored" in worker.log.read_text()
