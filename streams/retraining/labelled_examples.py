"""Where a retrain's labelled examples come from: ClickHouse, or the topics themselves.

An example is a prediction of the model (its features and time) joined by request id to
the true label its outcome reported (an int class index), or, for a regression, the true
value (a float) of its outcome of kind ``value``. With a ClickHouse server configured
(``INFERWATCH_CLICKHOUSE_URL``) the join runs there; otherwise (the embedded chDB
belongs to the sink's process) the ``predictions`` and ``outcomes`` topics are read from
their beginning to their current end, outside any consumer group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from aiokafka import TopicPartition

from streams.kafka import clients as kafka_clients
from streams.settings import ClickHouseSettings, KafkaSettings
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.topics import Topics

__all__ = ["ExampleRow", "ExampleSource", "clickhouse_source", "topic_source"]

#: (prediction time, features, true label or true value)
ExampleRow = tuple[float, dict[str, float], float]
#: the labelled examples of a model whose predictions were made in [since, until]
ExampleSource = Callable[[str, float, float], Awaitable[list[ExampleRow]]]


class _Pred(msgspec.Struct):
    request_id: str
    ts: float
    model: str
    features: dict[str, float] = {}
    error: str | None = None


class _Outcome(msgspec.Struct):
    request_id: str
    kind: str
    value: float


def topic_source(kafka: KafkaSettings) -> ExampleSource:
    """Join ``predictions`` and ``outcomes`` as the topics hold them now."""
    topics = Topics(kafka.topic_prefix)

    async def load(model: str, since: float, until: float) -> list[ExampleRow]:
        preds: dict[str, tuple[float, dict[str, float]]] = {}
        labels: dict[str, float] = {}
        pdec, odec = msgspec.json.Decoder(_Pred), msgspec.json.Decoder(_Outcome)
        consumer = kafka_clients.reader(kafka)
        await consumer.start()
        try:
            parts = [TopicPartition(topics.name(role), p) for role in ("predictions", "outcomes")
                     for p in range(topics.partitions(role))]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            idle = 0
            while idle < 3 and any([await consumer.position(tp) < ends[tp] for tp in parts]):
                batches = await consumer.getmany(timeout_ms=300, max_records=20_000)
                idle = 0 if any(batches.values()) else idle + 1
                for tp, msgs in batches.items():
                    for m in msgs:
                        try:
                            if tp.topic == topics.predictions:
                                p = pdec.decode(m.value or b"")
                                if p.model == model and p.error is None and since <= p.ts <= until:
                                    preds[p.request_id] = (p.ts, p.features)
                            else:
                                o = odec.decode(m.value or b"")
                                if o.kind in ("label", "value"):
                                    labels[o.request_id] = _target(o.kind, o.value)
                        except msgspec.DecodeError:
                            continue  # dead-lettered by the loops that own these topics
        finally:
            await consumer.stop()
        return [(ts, feats, labels[rid]) for rid, (ts, feats) in preds.items() if rid in labels]
    return load


def _target(kind: str, value: float) -> float:
    """A label as its class index, a regression's true value as it is."""
    return int(value) if kind == "label" else float(value)


def clickhouse_source(settings: ClickHouseSettings) -> ExampleSource:
    """Join the stored ``predictions`` and ``outcomes`` in a ClickHouse server."""
    import asyncio

    def query(model: str, since: float, until: float) -> list[ExampleRow]:
        store = ClickHouseStore.open(settings)
        try:
            rows = store.query(
                "SELECT p.ts, p.features, o.kind, o.value FROM predictions AS p "
                "INNER JOIN (SELECT request_id, any(kind) AS kind, any(value) AS value "
                "FROM outcomes WHERE kind IN ('label', 'value') GROUP BY request_id) AS o "
                "USING request_id "
                "WHERE p.model = {model:String} AND p.error IS NULL "
                "AND p.ts BETWEEN {since:Float64} AND {until:Float64} ORDER BY p.ts",
                {"model": model, "since": since, "until": until})
        finally:
            store.close()
        return [(float(ts), dict(feats), _target(kind, value))
                for ts, feats, kind, value in rows]

    async def load(model: str, since: float, until: float) -> list[ExampleRow]:
        return await asyncio.to_thread(query, model, since, until)
    return load
