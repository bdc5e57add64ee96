"""The worker's probes on a real broker: a started worker becomes ready, stays live, and
its web port serves /metrics."""

from __future__ import annotations

import asyncio
import time

from prometheus_client.parser import text_string_to_metric_families

from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.storage.metric_rows import RowMapper
from streams.wire.topics import Topics
from tests.http_probe import free_port, get
from tests.integration.conftest import Worker, consume


def test_a_started_worker_becomes_ready_stays_live_and_serves_metrics(
        worker: Worker, env: dict[str, str]) -> None:
    port = free_port()
    env["INFERWATCH_ALERTING_METRICS_PORT"] = str(port)
    env["INFERWATCH_WEB_READY_COMMIT_AGE_S"] = "20"
    base = f"http://127.0.0.1:{port}"
    topics = Topics(env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    worker.start()

    not_ready: set[str] = set()
    deadline = time.monotonic() + 60
    status, reason = get(f"{base}/readyz")
    while status != 200 and time.monotonic() < deadline:
        assert status == 503, (status, reason)
        not_ready.add(reason)
        time.sleep(0.2)
        status, reason = get(f"{base}/readyz")
    sink_partitions = sum(topics.partitions(t.removeprefix(topics.prefix))
                          for t in RowMapper(topics, 1 << 20).source_topics)
    # one worker holds every partition of each loop's topics: the join reads predictions,
    # outcomes and the shadows' predictions, the decision step the summaries and the
    # shadows' pair counts
    joined = sum(topics.partitions(r) for r in ("predictions", "outcomes",
                                                "shadow-predictions"))
    decided = sum(topics.partitions(r) for r in ("monitor-summaries", "shadow-pairs"))
    assert (joined, decided) == (18, 6)
    assert (status, reason) == (200, (
        f"ready: inference holds 6, monitor holds 6, join holds {joined}, decide holds "
        f"{decided}, sink holds {sink_partitions}")), (not_ready, worker.tail())
    assert get(f"{base}/livez") == (200, "live")

    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    asyncio.run(simulate(kafka, Scenario(count=400, rate=0, seed=3, run_id="probe")))
    preds = asyncio.run(consume(kafka.bootstrap, topics.predictions,
                                until=lambda r: len(r) >= 400, timeout=90))
    assert len(preds) == 400
    status, body = get(f"{base}/metrics")
    assert status == 200
    processed = {s.labels["stage"]: s.value for fam in text_string_to_metric_families(body)
                 for s in fam.samples if s.name == "inferwatch_events_processed_total"}
    assert processed["inference"] == 400
    assert get(f"{base}/readyz")[0] == 200  # still current after the traffic
    assert get(f"{base}/livez") == (200, "live")
    assert worker.stop() == 0
