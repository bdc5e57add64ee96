"""Schema migrations on the real embedded engine (chDB): from an empty store, and from a
store the previous release made (its schema.sql, kept as a fixture, applied its way)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.storage.migrations import RECORD_TABLE, load, migrate, parse
from streams.wire.codec import SourceRecord, encode
from streams.wire.topics import Topics

PREVIOUS = Path(__file__).resolve().parents[3] / "fixtures" / "previous_release" / "schema.sql"
#: the predictions columns of the previous release, as its sink inserted them
OLD_COLUMNS = ("request_id", "ts", "model", "variant", "model_version", "label", "score",
               "queue_s", "inference_s", "total_s", "ttft_s", "batch_size", "device",
               "segment", "features", "error", "src_partition", "src_offset")


@contextmanager
def _store(path: Path) -> Iterator[ClickHouseStore]:
    # chDB runs one data path per process at a time: open one store, close it, then the next
    store = ClickHouseStore(f"chdb://{path}")
    try:
        yield store
    finally:
        store.close()


def _previous_release_schema(store: ClickHouseStore) -> None:
    """What the previous release's sink did at start: every statement of its schema.sql."""
    text = "\n".join(line for line in PREVIOUS.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    for statement in filter(None, (s.strip() for s in text.split(";"))):
        store.command(statement)


def _structure(store: ClickHouseStore) -> list[tuple[Any, ...]]:
    columns = store.query(
        "SELECT table, name, type, default_kind, default_expression, position "
        "FROM system.columns WHERE database = currentDatabase() ORDER BY table, position")
    tables = store.query("SELECT name, engine, sorting_key, as_select FROM system.tables "
                         "WHERE database = currentDatabase() ORDER BY name")
    return columns + tables


def _recorded(store: ClickHouseStore) -> list[tuple[Any, ...]]:
    return store.query(f"SELECT version, name FROM {RECORD_TABLE} FINAL ORDER BY version")


def test_the_shipped_migrations_are_numbered_from_one() -> None:
    migrations = load()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "baseline" and len(migrations) >= 2


def test_from_empty_each_migration_applies_once(tmp_path: Path) -> None:
    versions = [m.version for m in load()]
    with _store(tmp_path) as store:
        assert store.apply_schema() == versions
        assert store.apply_schema() == []  # a restart applies nothing again
        assert _recorded(store) == [(m.version, m.name) for m in load()]
        assert store.query(f"SELECT count() FROM {RECORD_TABLE}") == [(len(versions),)]


def test_from_the_previous_release_the_data_stays_and_the_schema_matches(
        tmp_path: Path) -> None:
    with _store(tmp_path / "empty") as empty:
        empty.apply_schema()
        expected = _structure(empty)
    with _store(tmp_path / "previous") as previous:
        _previous_release_schema(previous)
        old_row = ["r-old", 1.0, "churn", "A", "v1", 1, 0.9, 0.01, 0.02, 0.03, None, 4, "cpu",
                   {"region": "eu"}, {"f0": 2.5}, None, 0, 7]
        previous.insert("predictions", OLD_COLUMNS, [old_row], token="old")
        assert previous.apply_schema() == [m.version for m in load()]
        assert _structure(previous) == expected
        assert previous.query("SELECT request_id, unit_id, features['f0'] FROM predictions"
                              ) == [("r-old", "", 2.5)]
        # the new release's rows insert beside the old ones; the latency views still feed
        from tests.unit.streams.storage.test_metric_rows import EVENTS
        topics = Topics("p.")
        rows, _ = RowMapper(topics, max_record_bytes=4096).rows(
            topics.predictions, [SourceRecord(topics.predictions, 1, 8, b"r1",
                                              encode(EVENTS["predictions"]))])
        previous.insert(rows.table, rows.columns, rows.rows, token="new")
        assert previous.query("SELECT request_id FROM predictions ORDER BY ts") == [
            ("r-old",), ("r1",)]
        assert previous.query("SELECT countMerge(n) FROM latency_minutely "
                              "WHERE segment = '*'") == [(2,)]


def test_a_migration_applied_but_not_recorded_applies_again_safely(tmp_path: Path) -> None:
    """A crash between a migration's statements and its record re-runs it."""
    migrations = load()
    with _store(tmp_path) as store:
        _previous_release_schema(store)
        for statement in migrations[1].statements:  # 0002 ran, then the process died
            store.command(statement)
        assert migrate(store, migrations) == [m.version for m in migrations]
        assert _recorded(store) == [(m.version, m.name) for m in migrations]


def test_bad_migration_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x UInt8) ENGINE = Memory;")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c (x UInt8) ENGINE = Memory;")
    with pytest.raises(ValueError, match=r"without gaps or repeats, found \[1, 3\]"):
        load(tmp_path)
    with pytest.raises(ValueError, match=r"NNNN_lower_snake\.sql"):
        parse("2_b.sql", "SELECT 1")
    with pytest.raises(ValueError, match="holds no statement"):
        parse("0002_b.sql", "-- only a comment\n")
