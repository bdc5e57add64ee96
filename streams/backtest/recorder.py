"""Record a simulator scenario offline, as the traffic a worker would have stored.

The simulator's :class:`~streams.simulation.simulator.TrafficPlan` writes the scenario's
records chunk by chunk, as ``inferwatch simulate`` sends them (the same chunk size for
the same rate, so the same seeded traffic); requests go through the worker's own
:class:`~streams.serving.inference_stage.InferenceStage` with the model store's served
version, and the predictions it answers, the outside servers' predictions and the
outcomes are kept. Time is the scenario's own: request ``i`` is sent at
``start + i / rate``, answered :data:`SERVING_S` later. Nothing touches Kafka.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from inference.registry import ModelStore
from inference.routing import VariantRouter
from inference.served_versions import ServedVersions
from streams.backtest.replay import EventClock
from streams.backtest.traffic import RecordedTraffic
from streams.serving.inference_stage import InferenceStage
from streams.settings import WorkerConfig
from streams.simulation.simulator import Scenario, TrafficPlan
from streams.wire.codec import SourceRecord
from streams.wire.events import Outcome, Prediction
from streams.wire.topics import Topics

#: the time a recorded request waits and is served (the answer's ``total_s``)
SERVING_S = 0.005
#: the simulator's largest chunk (``streams.simulation.simulator._CHUNK``'s value)
CHUNK = 500


def chunk_size(rate: float) -> int:
    """The requests ``inferwatch simulate`` sends per chunk at ``rate`` (0: flat out)."""
    return CHUNK if rate == 0 else max(1, min(CHUNK, int(rate / 20)))


def record(scenario: Scenario, cfg: WorkerConfig, *, start: float = 1_700_000_000.0,
           progress: Callable[[int], None] | None = None) -> RecordedTraffic:
    """The predictions and outcomes of ``scenario``, served by ``cfg``'s model store."""
    topics = Topics(cfg.kafka.topic_prefix)
    clock = EventClock(start)
    inference = cfg.inference
    served = ServedVersions(ModelStore(inference.model_dir), "cpu", inference.binding)
    stage = InferenceStage(
        topics=topics, predictors=served.predictor,
        router=VariantRouter(inference.split, salt=inference.experiment),
        max_batch=inference.max_batch, max_wait_ms=inference.max_wait_ms,
        max_record_bytes=cfg.kafka.max_record_bytes, clock=clock)
    plan = TrafficPlan(scenario, topics, clock)
    rate = scenario.rate or 1000.0  # a flat-out scenario is recorded at 1,000 requests/s
    predictions: list[Prediction] = []
    outcomes: list[Outcome] = []
    step = chunk_size(scenario.rate)
    for lo in range(0, scenario.count, step):
        hi = min(lo + step, scenario.count)
        clock.advance(start + lo / rate)
        requests: list[SourceRecord] = []
        for topic, key, value in plan.chunk(lo, hi):
            if topic == topics.requests:
                requests.append(SourceRecord(topic, 0, len(requests), key, value))
            elif topic == topics.predictions:
                predictions.append(msgspec.json.decode(value, type=Prediction))
            else:
                outcomes.append(msgspec.json.decode(value, type=Outcome))
        stage.add(requests)
        clock.advance(clock() + SERVING_S)
        predictions.extend(msgspec.json.decode(o.value or b"", type=Prediction)
                           for o in stage.flush(force=True) or []
                           if o.topic == topics.predictions)
        if progress is not None:
            progress(hi)
    return RecordedTraffic.from_events(predictions, outcomes, topics)
