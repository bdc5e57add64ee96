"""Where a backtest's traffic and the live alert log come from: ClickHouse, or the topics.

ClickHouse (:func:`stored_traffic`, :func:`stored_alerts`) holds every prediction and
outcome the sink wrote, with the Kafka partition each came from, and the alert log; it
lacks what no table keeps (input embeddings, a multiclass model's probabilities, the
features the privacy policy removes), so detectors of those judge less than live. The
topics' retained history (:func:`retained_traffic`) holds the records whole, for as long
as the topics retain them. Both read the time range ``[since, until)`` of event time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import msgspec

from streams.backtest.traffic import RecordedTraffic
from streams.kafka.record_writer import partition_of
from streams.kafka.topic_reader import partition_counts, read_values
from streams.settings import KafkaSettings
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Alert, Latency, ModelOutput, Outcome, Prediction
from streams.wire.topics import Topics

_RANGE = "ts >= %(since)s AND ts < %(until)s"
_PREDICTIONS = (
    "SELECT request_id, ts, model, variant, model_version, label, score, queue_s, "
    "inference_s, total_s, ttft_s, batch_size, device, segment, features, error, unit_id, "
    f"src_partition FROM predictions WHERE {_RANGE} ORDER BY ts")
_OUTCOMES = ("SELECT request_id, ts, kind, value, src_partition FROM outcomes "
             f"WHERE {_RANGE} ORDER BY ts")
_ALERTS = ("SELECT fingerprint, status, severity, labels, summary, description, starts_at, "
           "ends_at, evidence FROM alerts WHERE starts_at >= %(since)s AND "
           "starts_at < %(until)s ORDER BY src_offset")


class _Stamp(msgspec.Struct):
    request_id: str
    ts: float


def stored_traffic(store: ClickHouseStore, since: float, until: float,
                   topics: Topics) -> RecordedTraffic:
    """The predictions and outcomes ClickHouse stored in ``[since, until)``."""
    window = {"since": since, "until": until}
    records = list(_predictions(store.query(_PREDICTIONS, window), topics.predictions))
    records.extend(
        (ts, SourceRecord(topics.outcomes, part, i, rid.encode(), encode(
            Outcome(request_id=rid, ts=ts, kind=kind, value=value))))
        for i, (rid, ts, kind, value, part) in enumerate(store.query(_OUTCOMES, window)))
    return RecordedTraffic(records, topics)


def _predictions(rows: list[tuple[Any, ...]], topic: str
                 ) -> Iterator[tuple[float, SourceRecord]]:
    for i, (rid, ts, model, variant, version, label, score, queue_s, inference_s, total_s,
            ttft_s, batch, device, segment, features, error, unit, part) in enumerate(rows):
        pred = Prediction(
            request_id=rid, ts=ts, model=model, variant=variant, model_version=version,
            output=ModelOutput(label=label, score=score),
            latency=Latency(queue_s=queue_s, inference_s=inference_s, total_s=total_s,
                            ttft_s=ttft_s),
            batch_size=batch, device=device, features=dict(features), segment=dict(segment),
            unit_id=unit, error=error)
        yield ts, SourceRecord(topic, part, i, rid.encode(), encode(pred))


def stored_alerts(store: ClickHouseStore, since: float, until: float) -> list[Alert]:
    """The alert log: every alert event of the incidents that fired in ``[since, until)``,
    in the order the alerts topic carried them."""
    out = []
    for fp, status, severity, labels, summary, description, start, end, evidence in \
            store.query(_ALERTS, {"since": since, "until": until}):
        out.append(Alert(fingerprint=fp, status=status, severity=severity, labels=dict(labels),
                         annotations={"summary": summary, "description": description},
                         starts_at=float(start), ends_at=None if end is None else float(end),
                         evidence=_evidence(evidence)))
    return out


def retained_traffic(kafka: KafkaSettings, since: float, until: float) -> RecordedTraffic:
    """The predictions and outcomes the topics still hold, of event time in
    ``[since, until)``, each in the partition its request id keys it to."""
    topics = Topics(kafka.topic_prefix)
    names = [topics.predictions, topics.outcomes]
    counts = asyncio.run(partition_counts(kafka, names))
    stamp = msgspec.json.Decoder(_Stamp).decode
    records = []
    for name in names:
        values = asyncio.run(read_values(kafka, name, counts[name], deadline_s=3600.0))
        for offset, raw in enumerate(values):
            try:
                event = stamp(raw)
            except msgspec.MsgspecError:
                continue  # an undecodable record is the dead-letter topic's business
            if since <= event.ts < until:
                key = event.request_id.encode()
                records.append((event.ts, SourceRecord(
                    name, partition_of(key, counts[name]), offset, key, raw)))
    return RecordedTraffic(records, topics)


def _evidence(text: str) -> dict[str, float | str]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
