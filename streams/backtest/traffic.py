"""Recorded traffic: predictions and outcomes in event-time order, as the topics carried them.

Every source of a backtest (ClickHouse's stored rows, the topics' retained history, a
rule test's JSONL file) becomes one :class:`RecordedTraffic`: the records as a worker
read them (topic, partition, the wire event's bytes), ordered by the event's own time,
so the replay hands the stages exactly what they decode live. The JSONL form is one
record a line, ``{"topic": "predictions", "partition": 3, "value": {...the event...}}``
(``outcomes`` for an outcome), gzip-compressed when the file name ends in ``.gz``.

Examples
--------
>>> from streams.wire.events import Outcome
>>> traffic = RecordedTraffic.from_events(
...     [], [Outcome(request_id="r2", ts=2.0, kind="label", value=1.0),
...          Outcome(request_id="r1", ts=1.0, kind="label", value=0.0)], Topics())
>>> [(ts, r.topic) for ts, r in traffic.records]
[(1.0, 'inferwatch.outcomes'), (2.0, 'inferwatch.outcomes')]
>>> [len(batch) for _, batch in traffic.batches(max_records=1, max_span_s=10.0)]
[1, 1]
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import msgspec

from streams.kafka.record_writer import partition_of
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Outcome, Prediction
from streams.wire.topics import Topics

#: the topics a backtest replays, by their role name in a JSONL file
ROLES = ("predictions", "outcomes")


class _Line(msgspec.Struct):
    topic: str
    partition: int
    value: msgspec.Raw


class _Stamp(msgspec.Struct):
    """What ordering reads of an event: its time."""

    ts: float


class RecordedTraffic:
    """Predictions and outcomes ordered by event time, each as a topic's record.

    Parameters
    ----------
    records
        (event time, record) pairs, in any order; they are sorted by time (stably, so
        records of one time keep their order).
    topics
        The topic names the records carry (the worker's prefix).
    """

    def __init__(self, records: Iterable[tuple[float, SourceRecord]], topics: Topics) -> None:
        self.topics = topics
        self.records = sorted(records, key=lambda pair: pair[0])

    def __len__(self) -> int:
        return len(self.records)

    @property
    def predictions(self) -> int:
        """How many of the records are predictions."""
        name = self.topics.predictions
        return sum(1 for _, r in self.records if r.topic == name)

    @classmethod
    def from_events(cls, predictions: Iterable[Prediction], outcomes: Iterable[Outcome],
                    topics: Topics) -> RecordedTraffic:
        """Traffic of decoded events, each in the partition its request id keys it to."""
        return cls(_encoded(predictions, outcomes, topics), topics)

    @classmethod
    def read_jsonl(cls, path: Path, topics: Topics) -> RecordedTraffic:
        """Traffic from a JSONL file (``.gz``: compressed); a ValueError names the bad line."""
        names = {"predictions": topics.predictions, "outcomes": topics.outcomes}
        decode_line = msgspec.json.Decoder(_Line).decode
        stamp = msgspec.json.Decoder(_Stamp).decode
        records = []
        with _open(path, "rb") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    rec = decode_line(line)
                    if rec.topic not in names:
                        raise ValueError(f"topic must be one of {ROLES}, got {rec.topic!r}")
                    value = bytes(rec.value)
                    records.append((stamp(value).ts, SourceRecord(
                        names[rec.topic], rec.partition, number, None, value)))
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                    raise ValueError(f"{path}, line {number}: {exc}") from None
        return cls(records, topics)

    def write_jsonl(self, path: Path) -> None:
        """Write the traffic as JSONL (``.gz``: compressed), in event-time order."""
        roles = {self.topics.predictions: b"predictions", self.topics.outcomes: b"outcomes"}
        path.parent.mkdir(parents=True, exist_ok=True)
        with _open(path, "wb") as out:
            for _, r in self.records:
                out.write(b'{"topic":"%s","partition":%d,"value":%s}\n'
                          % (roles[r.topic], r.partition, r.value or b"null"))

    def batches(self, *, max_records: int, max_span_s: float
                ) -> Iterator[tuple[float, list[SourceRecord]]]:
        """The records in batches as a consumer would take them: at most ``max_records``,
        spanning at most ``max_span_s`` of event time; each with its last event time."""
        batch: list[SourceRecord] = []
        first = last = 0.0
        for ts, record in self.records:
            if batch and (len(batch) >= max_records or ts - first > max_span_s):
                yield last, batch
                batch = []
            if not batch:
                first = ts
            batch.append(record)
            last = ts
        if batch:
            yield last, batch


def _encoded(predictions: Iterable[Prediction], outcomes: Iterable[Outcome],
             topics: Topics) -> Iterator[tuple[float, SourceRecord]]:
    """Each event as the record its topic would hold (offsets count per partition)."""
    offsets: dict[tuple[str, int], int] = {}
    for topic, events in ((topics.predictions, predictions), (topics.outcomes, outcomes)):
        count = topics.partitions(topic.removeprefix(topics.prefix))
        for event in events:
            key = event.request_id.encode()
            partition = partition_of(key, count)
            offset = offsets[topic, partition] = offsets.get((topic, partition), -1) + 1
            yield event.ts, SourceRecord(topic, partition, offset, key, encode(event))


def _open(path: Path, mode: str) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, mode)  # type: ignore[return-value]
    return path.open(mode)
