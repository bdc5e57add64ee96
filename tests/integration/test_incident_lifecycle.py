"""An incident's whole life on the real broker: a segment's drift starts, then stops.

On-call gets exactly one firing and one resolved notification at a webhook receiver,
both naming the same feature and segment, the resolve with the evidence now; with two
variants, the quiet one resolves nothing; a `kill -9` of the worker between the firing
and the resolve changes none of that.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec

from inference.registry import ModelStore
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.wire.codec import encode
from streams.wire.events import Alert, Latency, ModelOutput, Prediction
from streams.wire.topics import Topics
from tests.integration.conftest import Receiver, Worker, consume
from tests.integration.test_drift_alerts import RELAXED_LATENCY

EU_F2 = Drift("f2", shift=2.0, segment={"region": "eu"})


def _setup(env: dict[str, str], tmp_path: Path) -> tuple[Receiver, KafkaSettings]:
    receiver = Receiver()
    env.update(RELAXED_LATENCY)
    env["INFERWATCH_MONITOR_WINDOW_SIZE"] = "500"
    env["INFERWATCH_ALERTING_WEBHOOK_URL"] = receiver.url
    env["INFERWATCH_ALERTING_SPILL_DIR"] = str(tmp_path / "outbox")
    return receiver, KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                                   topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])


def _alerts(kafka: KafkaSettings, detector: str = "feature_drift") -> list[Alert]:
    raw = asyncio.run(consume(kafka.bootstrap, Topics(kafka.topic_prefix).alerts,
                              until=lambda r: False, timeout=3))
    alerts = [msgspec.json.decode(m.value, type=Alert) for m in raw]
    return [a for a in alerts if a.labels["detector"] == detector]


def _settled(receiver: Receiver, n: int, timeout_s: float = 90) -> list[dict[str, Any]]:
    """The notifications once ``n`` arrived and a few more seconds passed quietly."""
    receiver.wait_for(n, timeout_s=timeout_s)
    time.sleep(5)  # windows go on being judged: a second page or resolve would come by now
    return receiver.wait_for(n, timeout_s=0.1)


def _drift_lines(note: dict[str, Any]) -> list[str]:
    return [line for line in note["annotations"]["description"].splitlines()
            if "feature_drift on " in line]


def _check_one_incident(notes: list[dict[str, Any]], alerts: list[Alert]) -> None:
    assert [n["status"] for n in notes] == ["firing", "resolved"], notes
    firing, resolved = notes
    assert firing["dedup_key"] == resolved["dedup_key"]
    assert firing["labels"] == resolved["labels"]
    for note in notes:  # both name the feature and the segment that moved
        [line] = _drift_lines(note)
        assert "/region=eu/f2" in line, line
    # on the wire: one identity, the same labels, the resolve with the evidence now
    assert [a.status for a in alerts] == ["firing", "resolved"], alerts
    fired, cleared = alerts
    assert fired.fingerprint == cleared.fingerprint
    assert fired.labels == cleared.labels
    assert (fired.labels["feature"], fired.labels["segment"]) == ("f2", "region=eu")
    assert (cleared.evidence["feature"], cleared.evidence["segment"]) == ("f2", "region=eu")
    assert float(cleared.evidence["psi"]) < 0.1 < float(fired.evidence["psi[region=eu/f2]"])


def test_a_segment_drift_that_stops_fires_once_and_resolves_once(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    receiver, kafka = _setup(env, tmp_path)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=3000, rate=2500, seed=41, run_id="calm")))
    asyncio.run(simulate(kafka, Scenario(count=4000, rate=2500, seed=42, run_id="eu",
                                         drift_at=0, drift=EU_F2)))
    assert receiver.wait_for(1, timeout_s=60), worker.tail()
    asyncio.run(simulate(kafka, Scenario(count=6000, rate=2500, seed=43, run_id="after")))
    notes = _settled(receiver, 2)
    alerts = _alerts(kafka)
    assert worker.stop() == 0, worker.tail()
    receiver.server.shutdown()
    _check_one_incident(notes, alerts)


def test_a_kill_9_between_firing_and_resolve_changes_nothing(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    """Slow by design (about 30 s): two worker starts (the model loaded, the group joined)
    around a kill -9, and 13,000 requests at 2,500/s to fire the page and then resolve it.
    """
    receiver, kafka = _setup(env, tmp_path)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=3000, rate=2500, seed=44, run_id="calm")))
    asyncio.run(simulate(kafka, Scenario(count=4000, rate=2500, seed=45, run_id="eu",
                                         drift_at=0, drift=EU_F2)))
    assert receiver.wait_for(1, timeout_s=60), worker.tail()
    time.sleep(2)  # the page's delivery is logged as accepted
    worker.kill9()
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=6000, rate=2500, seed=46, run_id="after")))
    notes = _settled(receiver, 2)
    alerts = _alerts(kafka)
    assert worker.stop() == 0, worker.tail()
    receiver.server.shutdown()
    _check_one_incident(notes, alerts)


async def _publish(kafka: KafkaSettings, model_dir: Path, n: int, *, seed: int,
                   drift_b: Drift | None) -> None:
    """An outside server's churn predictions (scored by the demo model, as the worker
    would), units split between A and B; B's inputs may drift."""
    gen = FeatureGenerator(seed)
    predictor = ModelStore(model_dir).load_predictor("churn")
    topic = Topics(kafka.topic_prefix).predictions
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        for start in range(0, n, 500):
            calm, moved = gen.sample(500), gen.sample(500, drift=drift_b) if drift_b else None
            scores = [predictor.predict_batch(b.features).scores if b else None
                      for b in (calm, moved)]
            for j in range(500):
                variant = "B" if j % 2 else "A"
                k = 1 if variant == "B" and moved is not None else 0
                batch = moved if k else calm
                rid, score = f"ab{seed}-{start + j:07d}", float(scores[k][j])  # type: ignore[index]
                pred = Prediction(
                    request_id=rid, ts=time.time(), model="churn", variant=variant,
                    model_version="ext-1", output=ModelOutput(label=int(score > 0.5),
                                                              score=score),
                    latency=Latency(queue_s=0.001, inference_s=0.01, total_s=0.011),
                    features=dict(zip(FEATURES, batch.features[j].tolist(), strict=True)),
                    segment=batch.segments[j], unit_id=f"u{j}")
                await producer.send(topic, encode(pred), key=rid.encode())
            await asyncio.sleep(0.2)
        await producer.flush()
    finally:
        await producer.stop()


def test_with_two_variants_only_the_drifting_one_fires_and_resolves(
        worker: Worker, env: dict[str, str], tmp_path: Path, model_dir: Path) -> None:
    """Slow by design (about 27 s): 18,000 predictions over two variants, calm, drifted in B,
    then calm again, enough windows for B to fire and resolve while A never does.
    """
    receiver, kafka = _setup(env, tmp_path)
    worker.start()
    asyncio.run(_publish(kafka, model_dir, 4000, seed=51, drift_b=None))
    asyncio.run(_publish(kafka, model_dir, 6000, seed=52, drift_b=EU_F2))
    assert receiver.wait_for(1, timeout_s=60), worker.tail()
    asyncio.run(_publish(kafka, model_dir, 8000, seed=53, drift_b=None))
    notes = _settled(receiver, 2)
    alerts = _alerts(kafka)
    assert worker.stop() == 0, worker.tail()
    receiver.server.shutdown()
    _check_one_incident(notes, alerts)
    assert {a.labels["variant"] for a in alerts} == {"B"}
    assert notes[0]["labels"]["variant"] == "B"
