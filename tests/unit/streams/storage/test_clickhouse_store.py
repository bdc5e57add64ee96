"""The ClickHouse store on the real embedded engine (chDB), one data path per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.errors import SinkError
from streams.storage.clickhouse_store import ClickHouseStore

TABLES = {"predictions", "outcomes", "detector_reports", "alerts", "retrain_events",
          "dead_letters"}
COLS = ("request_id", "ts", "kind", "value", "src_partition", "src_offset")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClickHouseStore]:
    sleeps: list[float] = []
    s = ClickHouseStore(f"chdb://{tmp_path / 'ch'}", retry_max_s=2.0, sleep=sleeps.append)
    s.sleeps = sleeps  # type: ignore[attr-defined]
    s.apply_schema()
    try:
        yield s
    finally:
        s.close()


def _rows(partition: int, offsets: range) -> list[list[Any]]:
    return [[f"r{partition}-{o}", float(o), "label", 1.0, partition, o] for o in offsets]


def _count(store: ClickHouseStore, table: str = "outcomes") -> int:
    return int(store.query(f"SELECT count() FROM {table}")[0][0])


def test_apply_schema_creates_the_tables(store: ClickHouseStore) -> None:
    names = {r[0] for r in store.query("SELECT name FROM system.tables "
                                       "WHERE database = currentDatabase()")}
    assert names >= TABLES
    store.apply_schema()  # idempotent
    assert _count(store) == 0


def test_same_token_stores_once_other_token_again(store: ClickHouseStore) -> None:
    rows = _rows(0, range(5))
    store.insert("outcomes", COLS, rows, token="outcomes:0:0-4")
    store.insert("outcomes", COLS, rows, token="outcomes:0:0-4")
    assert _count(store) == 5
    store.insert("outcomes", COLS, rows, token="outcomes:0:0-4:b")
    assert _count(store) == 10
    assert store.retries == 0


def test_high_water_is_the_max_offset_per_partition(store: ClickHouseStore) -> None:
    assert store.high_water("outcomes") == {}
    store.insert("outcomes", COLS, _rows(0, range(3, 9)), token="a")
    store.insert("outcomes", COLS, _rows(2, range(100, 102)), token="b")
    store.insert("outcomes", COLS, _rows(0, range(0, 3)), token="c")
    assert store.high_water("outcomes") == {0: 8, 2: 101}


class FlakyClient:
    """Delegates to the real client, but the first ``fail`` inserts raise."""

    def __init__(self, real: Any, fail: int) -> None:
        self.real, self.fail = real, fail
        self.tokens: list[str] = []

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        self.tokens.append(kwargs["settings"]["insert_deduplication_token"])
        if self.fail:
            self.fail -= 1
            raise ConnectionError("connection reset by peer")
        return self.real.insert(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_flaky_insert_is_retried_with_the_same_token(store: ClickHouseStore) -> None:
    flaky = FlakyClient(store.client, fail=2)
    store.client = flaky
    store.insert("outcomes", COLS, _rows(1, range(4)), token="tok-1")
    store.insert("outcomes", COLS, _rows(1, range(4)), token="tok-1")  # a replay
    assert flaky.tokens == ["tok-1"] * 4
    assert store.retries == 2
    assert _count(store) == 4
    sleeps = store.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == 2
    # capped exponential backoff with jitter in [0.5, 1] of 0.1 * 2**attempt
    for attempt, delay in enumerate(sleeps, start=1):
        base = min(2.0, 0.1 * 2 ** attempt)
        assert 0.5 * base <= delay <= base


def test_insert_gives_up_after_max_attempts(store: ClickHouseStore) -> None:
    store.client = FlakyClient(store.client, fail=10)
    store.max_attempts = 3
    with pytest.raises(SinkError) as info:
        store.insert("outcomes", COLS, _rows(0, range(2)), token="t")
    assert info.value.retriable is True
    assert "outcomes" in str(info.value) and "3 times" in str(info.value)
    store.client = store.client.real
    assert _count(store) == 0


def test_rows_of_every_topic_insert_into_their_tables(store: ClickHouseStore) -> None:
    from streams.storage.metric_rows import RowMapper
    from streams.wire.codec import SourceRecord, encode
    from streams.wire.topics import Topics
    from tests.unit.streams.storage.test_metric_rows import EVENTS

    topics = Topics("p.")
    mapper = RowMapper(topics, max_record_bytes=4096)
    for role, event in EVENTS.items():
        topic = topics.name(role)
        rows, rejected = mapper.rows(topic, [SourceRecord(topic, 3, 41, b"k", encode(event))])
        assert rejected == []
        # an experiment decision is a row of a table its topic feeds beside model_versions
        (target,) = [t for t in (rows, *rows.also) if t.rows]
        store.insert(target.table, target.columns, target.rows, token=f"{topic}:3:41-41")
        assert store.high_water(target.table) == {3: 41}
    assert store.query("SELECT features['f0'], segment['region'] FROM predictions") == [
        (1.5, "eu")]


def test_a_rejected_schema_is_not_retried(tmp_path: Path) -> None:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}", sleep=lambda s: None)
    try:
        store.apply_schema()
        with pytest.raises(SinkError) as info:
            store.insert("outcomes", ("request_id", "no_such_column"), [["r", 1.0]], token="x")
        assert info.value.retriable is False
        assert store.retries == 0
        assert "no_such_column" in str(info.value)
    finally:
        store.close()


def test_an_experiment_decision_written_twice_is_kept_once(store: ClickHouseStore) -> None:
    from streams.storage.metric_rows import RowMapper
    from streams.wire.codec import SourceRecord, encode
    from streams.wire.topics import Topics
    from tests.unit.streams.storage.test_metric_rows import EVENTS

    topics = Topics("p.")
    topic = topics.model_updates
    raw = encode(EVENTS["model-updates"])
    for offset in (5, 9):  # the same look, produced again after a crash
        rows, _ = RowMapper(topics, max_record_bytes=4096).rows(
            topic, [SourceRecord(topic, 0, offset, b"churn", raw)])
        (decisions,) = rows.also
        store.insert(decisions.table, decisions.columns, decisions.rows,
                     token=f"{topic}:0:{offset}")
    assert store.query("SELECT id, action, lower, upper FROM experiment_decisions FINAL") == [
        ("e1", "rollback", 0.02, None)]


def test_a_warm_insert_keeps_nothing_and_the_first_real_insert_is_then_quick(
        store: ClickHouseStore) -> None:
    import time

    store.warm_insert()
    store.warm_insert()  # a restart warms again: the table is there
    assert _count(store, "warm_insert") == 0  # a Null table keeps no row
    began = time.perf_counter()
    store.insert("outcomes", COLS, _rows(0, range(10)), token="t1")
    # cold, chDB's first insert of a process takes 0.6-3 s; warm, a few ms (a loaded
    # machine may stretch that tenfold, never to the cold figure)
    assert time.perf_counter() - began < 0.5
    assert _count(store) == 10
