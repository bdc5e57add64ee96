"""End to end on the real broker: requests → predictions → monitors → alerts → ClickHouse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import numpy as np

from retrain.synthetic import Drift
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.events import Alert, DetectorReport, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

N = 8000
DRIFT_AT = 4000
WINDOW = 1000
FIRE_AFTER = 2


def _kafka(env: dict[str, str]) -> KafkaSettings:
    return KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                         topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])


def test_pipeline_end_to_end(worker: Worker, env: dict[str, str]) -> None:
    kafka = _kafka(env)
    topics = Topics(kafka.topic_prefix)
    worker.start()
    result = asyncio.run(simulate(kafka, Scenario(
        count=N, seed=7, run_id="e2e", drift_at=DRIFT_AT,
        drift=Drift("f2", shift=2.0))))
    assert result.requests == N and result.drift_started_ts is not None

    preds_raw = asyncio.run(consume(kafka.bootstrap, topics.predictions,
                                    until=lambda r: len(r) >= N, timeout=180))
    # a grace read: nothing beyond N may arrive (no duplicates)
    preds_raw = asyncio.run(consume(kafka.bootstrap, topics.predictions,
                                    until=lambda r: False, timeout=3))
    preds = [msgspec.json.decode(m.value, type=Prediction) for m in preds_raw]
    assert len(preds) == N, worker.tail()
    assert len({p.request_id for p in preds}) == N

    alerts = _alerts_when(kafka, topics, lambda a: any(x.labels["detector"] == "feature_drift"
                                                       for x in a))
    reports = [msgspec.json.decode(m.value, type=DetectorReport) for m in asyncio.run(
        consume(kafka.bootstrap, topics.reports, until=lambda r: False, timeout=3))]
    assert worker.stop() == 0, worker.tail()

    # the drift is found after the change, never before, within a bounded number of events
    drift_ts = result.drift_started_ts
    flagged = [r for r in reports if r.detector == "feature_drift" and r.decision == "drift"]
    assert flagged, f"no drift report; reports: {reports}"
    assert all(r.window_end >= drift_ts for r in flagged)
    firing = [a for a in alerts if a.labels["detector"] == "feature_drift"
              and a.status == "firing"]
    assert len(firing) == 1
    assert firing[0].evidence["feature"] == "f2"
    request_ts = np.array([p.ts - p.latency.total_s for p in preds])
    fired_window = sorted(flagged, key=lambda r: r.ts)[FIRE_AFTER - 1]
    after_change = int(np.sum((request_ts > drift_ts) & (request_ts <= fired_window.window_end)))
    assert after_change <= (FIRE_AFTER + 2) * WINDOW

    # ClickHouse holds exactly the predictions, once each, with the same latencies
    store = ClickHouseStore(f"chdb://{Path(env['INFERWATCH_CLICKHOUSE_PATH'])}")
    try:
        (count, distinct), = store.query(
            "SELECT count(), uniqExact(request_id) FROM predictions WHERE model = 'churn'")
        assert (count, distinct) == (N, N)
        totals = np.array([p.latency.total_s for p in preds])
        (p50, p99, mean), = store.query(
            "SELECT quantileExact(0.5)(total_s), quantileExact(0.99)(total_s), avg(total_s) "
            "FROM predictions")
        ordered = np.sort(totals)  # quantileExact(q) is the element at floor(q * n)
        assert p50 == ordered[int(0.5 * N)]
        assert p99 == ordered[int(0.99 * N)]
        assert abs(mean - totals.mean()) < 1e-9 * max(1.0, totals.mean())
        (stored_alerts,), = store.query("SELECT count() FROM alerts WHERE detector = "
                                        "'feature_drift' AND status = 'firing'")
        assert stored_alerts == 1
    finally:
        store.close()


def _alerts_when(kafka: KafkaSettings, topics: Topics, done) -> list[Alert]:  # type: ignore[no-untyped-def]
    def decoded(records: list) -> list[Alert]:  # type: ignore[type-arg]
        return [msgspec.json.decode(m.value, type=Alert) for m in records]
    raw = asyncio.run(consume(kafka.bootstrap, topics.alerts,
                              until=lambda r: done(decoded(r)), timeout=120))
    return decoded(raw)
