"""model-updates events into ClickHouse: versions, alias changes and validation checks."""

from __future__ import annotations

from pathlib import Path

from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.storage.migrations import MIGRATIONS, parse
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import ModelVersionPublished, RetrainDecided, ValidationCheck
from streams.wire.topics import Topics

TOPICS = Topics("t.")


def _events() -> list[ModelVersionPublished]:
    checks = [ValidationCheck(check="accuracy_gain", value=0.06, threshold=0.01, passed=True)]
    return [
        ModelVersionPublished(model="churn", version="v2", artifact="/m/churn/v2/model.pt",
                              ts=10.0, retrain_id="rt-1", parent="v1", content_hash="ab12",
                              device="cpu", data_from=1.0, data_to=9.0, passed=True,
                              reason="passed", metrics={"candidate_accuracy": 0.89},
                              checks=checks),
        ModelVersionPublished(model="churn", version="v2", artifact="/m/churn/v2/model.pt",
                              ts=11.0, action="promoted", retrain_id="rt-1", parent="v1",
                              alias="champion", previous="v1", passed=True, checks=checks),
    ]


def _migrated(tmp_path: Path) -> ClickHouseStore:
    """A store with every shipped migration's statements applied, in order (the
    migrations' own numbering check is theirs to test)."""
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    for f in sorted(MIGRATIONS.iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql"):
            for statement in parse(f.name, f.read_text()).statements:
                store.command(statement)
    return store


def _records(events: list[ModelVersionPublished], first: int) -> list[SourceRecord]:
    return [SourceRecord(TOPICS.model_updates, 0, first + i, b"churn", encode(e))
            for i, e in enumerate(events)]


def test_model_updates_rows_reach_their_tables_once(tmp_path: Path) -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=1 << 20)
    table, rejected = mapper.rows(TOPICS.model_updates, _records(_events(), 5))
    assert rejected == [] and table.table == "model_versions" and len(table.rows) == 2
    # the promote repeats no check: one validation row per check of the published version
    assert [(t.table, len(t.rows)) for t in table.also] == [("validations", 1)]

    store = _migrated(tmp_path)
    try:
        for _ in range(2):  # a replay after a crash: same records, same tokens
            for t in [*table.also, table]:
                store.insert(t.table, t.columns, t.rows, f"tok|{t.table}")
        # a worker that crashed before its commit sends the same events again
        again, _ = mapper.rows(TOPICS.model_updates, _records(_events(), 7))
        for t in [*again.also, again]:
            store.insert(t.table, t.columns, t.rows, f"tok2|{t.table}")
        versions = store.query("SELECT version, action, parent, passed, metrics "
                               "FROM model_versions FINAL ORDER BY ts")
        aliases = store.query("SELECT alias, version, previous FROM alias_changes")
        checks = store.query("SELECT version, champion, check, value, threshold, passed "
                             "FROM validations FINAL")
    finally:
        store.close()
    assert versions == [("v2", "published", "v1", True, {"candidate_accuracy": 0.89}),
                        ("v2", "promoted", "v1", True, {})]
    assert aliases == [("champion", "v2", "v1")]
    assert checks == [("v2", "v1", "accuracy_gain", 0.06, 0.01, True)]


def test_retrain_decisions_are_stored_with_their_reason(tmp_path: Path) -> None:
    decisions = [RetrainDecided(model="churn", status="requested", reason="input drift "
                                "sustained for 3 windows", incident_start=5.0, ts=6.0,
                                retrain_id="rt-1"),
                 RetrainDecided(model="churn", status="suppressed", reason="suppressed: "
                                "budget: 3 requests in the last 86400 s, at most 3",
                                incident_start=9.0, ts=10.0)]
    records = [SourceRecord(TOPICS.retrain_decisions, 0, i, b"churn", encode(d))
               for i, d in enumerate(decisions)]
    table, rejected = RowMapper(TOPICS, max_record_bytes=1 << 20).rows(
        TOPICS.retrain_decisions, records)
    assert rejected == [] and table.table == "retrain_decisions"
    store = _migrated(tmp_path)
    try:
        store.insert(table.table, table.columns, table.rows, "tok")
        rows = store.query("SELECT status, reason, retrain_id FROM retrain_decisions "
                           "ORDER BY ts")
    finally:
        store.close()
    assert rows == [(d.status, d.reason, d.retrain_id) for d in decisions]
