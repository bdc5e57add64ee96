"""The topic reader's pure parts: where a read starts, the fold of a state topic, decoding."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from streams.kafka.topic_reader import (
    decode_values,
    first_offset,
    fold_latest,
    read_latest,
    read_values,
)
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import Alert, Outcome


@dataclass
class Record:
    key: bytes | None
    value: bytes | None


@pytest.mark.parametrize(("begin", "end", "tail", "first"), [
    (0, 0, None, 0), (10, 100, None, 10),   # the whole partition
    (10, 100, 5, 95), (10, 100, 90, 10),     # its tail; a tail as long as the log: all of it
    (10, 12, 5, 10), (40, 40, 5, 40),        # fewer records than the tail; an empty log
])
def test_a_read_starts_at_the_beginning_or_tail_records_before_the_end(
        begin: int, end: int, tail: int | None, first: int) -> None:
    assert first_offset(begin, end, tail) == first
    assert begin <= first <= end and (tail is None or end - first <= tail)


def test_the_latest_value_of_each_key_wins_and_a_tombstone_deletes_it() -> None:
    latest: dict[bytes, bytes] = {b"held": b"0"}  # folded from an earlier batch
    fold_latest(latest, [Record(b"a", b"1"), Record(b"b", b"1"), Record(b"a", b"2"),
                         Record(None, b"nobody's"), Record(b"b", None), Record(b"b2", b"")])
    assert latest == {b"held": b"0", b"a": b"2", b"b2": b""}
    fold_latest(latest, [Record(b"held", None), Record(b"b", b"again")])
    assert latest == {b"a": b"2", b"b2": b"", b"b": b"again"}


def test_values_that_do_not_decode_as_the_kind_are_skipped_in_order() -> None:
    first = Outcome(request_id="r1", ts=1.0, kind="label", value=1.0)
    second = Outcome(request_id="r2", ts=2.0, kind="label", value=0.0)
    alert = Alert(fingerprint="f", status="firing", severity="page", labels={},
                  annotations={}, starts_at=0.0)
    values = [encode(first), b"{not json", encode(alert), encode(second), encode(first)[:-3]]
    assert decode_values(values, Outcome) == [first, second]
    assert decode_values([], Outcome) == []


def test_no_partition_to_read_is_nothing_read_without_asking_a_broker() -> None:
    nowhere = KafkaSettings(bootstrap="127.0.0.1:1")  # would fail to connect
    assert asyncio.run(read_latest(nowhere, "state", 6, only=[])) == {}
    assert asyncio.run(read_values(nowhere, "alerts", 0)) == []
