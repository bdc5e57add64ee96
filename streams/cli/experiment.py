"""``inferwatch experiment status``: each experiment's latest look, read from Kafka.

The decision step writes every look of an experiment to the model-updates topic
(:class:`~streams.wire.events.ExperimentDecided`); this folds them to the latest per experiment,
or its final decision (promote, rollback, inconclusive) once there is one, and prints the
arms' samples, the estimate (challenger minus champion), its always-valid interval and
p-value, and the sample-ratio test's p-value. The fold is pure; :func:`gather` reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer

from streams.cli.status import decode_values, read_topic
from streams.report.utc_time import utc_stamp
from streams.settings import KafkaSettings
from streams.wire.events import ExperimentDecided, ModelUpdate
from streams.wire.topics import Topics


def latest(decisions: Iterable[ExperimentDecided]) -> dict[str, ExperimentDecided]:
    """Per experiment: its final decision if it has one, else its latest look."""
    out: dict[str, ExperimentDecided] = {}
    for d in decisions:
        held = out.get(d.experiment)
        if held is None or (held.action == "continue" and d.ts >= held.ts):
            out[d.experiment] = d
    return out


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:+.4f}"


def lines(decisions: dict[str, ExperimentDecided]) -> list[str]:
    """The status as printed lines."""
    if not decisions:
        return ["no experiment has been judged yet (INFERWATCH_MONITOR_EXPERIMENTS)"]
    out = []
    for name in sorted(decisions):
        d = decisions[name]
        at = utc_stamp(d.ts)
        out += [
            f"experiment {name}: model {d.model}, champion {d.champion}, challenger "
            f"{d.challenger}: {d.action.upper()} ({d.reason}) at {at}",
            f"  {d.metric}: challenger - champion {_num(d.estimate)} "
            f"[{_num(d.lower)}, {_num(d.upper)}], p {d.p_value:.4g} ({d.test})",
            f"  samples: {d.champion} {d.n_champion}, {d.challenger} {d.n_challenger}; "
            f"sample-ratio p {d.srm_p_value:.4g}"]
    return out


async def gather(settings: KafkaSettings) -> list[ExperimentDecided]:
    """Every experiment decision on the model-updates topic."""
    topics = Topics(settings.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap,
                                isolation_level="read_committed", enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topics.model_updates) or set()
        if not parts:
            await consumer.topics()
            parts = consumer.partitions_for_topic(topics.model_updates) or set()
        raw = await read_topic(consumer, topics.model_updates, len(parts))
    finally:
        await consumer.stop()
    return [u for u in decode_values(raw, ModelUpdate) if isinstance(u, ExperimentDecided)]


def run(settings: KafkaSettings) -> list[str]:
    return lines(latest(asyncio.run(gather(settings))))
