"""Rows of the ClickHouse tables from records of each topic (pure, no database)."""

from __future__ import annotations

import hashlib
import hmac
import json

import msgspec
import pytest

from streams.errors import ConfigError
from streams.settings import ClickHouseSettings, load
from streams.settings.private_fields import PrivateFields, UnitIdPolicy
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper, _prediction
from streams.wire.codec import Rejected, SourceRecord, encode
from streams.wire.dead_letter import dead_letter
from streams.wire.events import (
    Alert,
    Cost,
    DetectorReport,
    Event,
    ExperimentDecided,
    Latency,
    ModelOutput,
    ModelVersionPublished,
    Outcome,
    Prediction,
    RetrainRequested,
)
from streams.wire.topics import Topics

TOPICS = Topics("p.")


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Stored (non-ALIAS) columns of every table the migrations make, in order; and the
    materialized views (as table -> [])."""
    store = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('ch')}")
    try:
        store.apply_schema()
        tables: dict[str, list[str]] = {}
        for table, column in store.query(
                "SELECT table, name FROM system.columns WHERE database = currentDatabase() "
                "AND default_kind != 'ALIAS' AND table != 'schema_migrations' "
                "ORDER BY table, position"):
            tables.setdefault(table, []).append(column)
        views = store.query("SELECT name FROM system.tables WHERE database = currentDatabase()"
                            " AND engine IN ('MaterializedView', 'View')")
        return {t: c for t, c in tables.items() if t not in {v for (v,) in views}}
    finally:
        store.close()


EVENTS: dict[str, Event] = {
    "predictions": Prediction(
        request_id="r1", ts=10.5, model="churn", variant="B", model_version="v2",
        output=ModelOutput(label=1, score=0.8, probabilities=[0.2, 0.8]),
        latency=Latency(queue_s=0.01, inference_s=0.02, total_s=0.04), batch_size=16,
        device="cuda", features={"f0": 1.5}, segment={"region": "eu"},
        cost=Cost(cpu_s=0.001, gpu_s=0.0005, energy_j=0.2)),
    "outcomes": Outcome(request_id="r1", ts=11.0, kind="label", value=1.0),
    "detector-reports": DetectorReport(
        detector="feature_drift", model="churn", variant="A", segment="*", window_start=1.0,
        window_end=2.0, n=500, statistic=0.3, threshold=0.1, decision="drift", p_value=1e-6,
        evidence={"feature": "f2"}, ts=3.0),
    "alerts": Alert(fingerprint="fp", status="firing", severity="page",
                    labels={"model": "churn", "detector": "feature_drift"},
                    annotations={"summary": "s", "description": "d"}, starts_at=5.0,
                    evidence={"psi": 0.3}),
    "retrain": RetrainRequested(id="rt-1", model="churn", reason="drift",
                                evidence={"feature": "f2"}, data_from=1.0, data_to=2.0,
                                requested_at=3.0),
    "model-updates": ExperimentDecided(
        id="e1", experiment="churn-v2", model="churn", champion="A", challenger="B",
        action="rollback", metric="slow", test="mixture-sprt-one-sided", estimate=0.04,
        lower=0.02, upper=None, p_value=0.01, n_champion=900, n_challenger=880,
        srm_p_value=1.0, reason="guardrail slow", ts=7.0),
}

EXPECTED_ROWS = {
    "predictions": ["r1", 10.5, "churn", "B", "v2", 1, 0.8, 0.01, 0.02, 0.04, None, 0.001,
                    0.0005, 0.2, 16, "cuda",
                    {"region": "eu"}, "", {"f0": 1.5}, None],
    "outcomes": ["r1", 11.0, "label", 1.0],
    "detector-reports": [3.0, "feature_drift", "churn", "A", "*", 1.0, 2.0, 500, 0.3, 0.1, 1e-6,
                         "drift", '{"feature":"f2"}'],
    "alerts": ["fp", "firing", "page", "churn", "feature_drift", "s", "d",
               {"model": "churn", "detector": "feature_drift"}, 5.0, None, '{"psi":0.3}'],
    "retrain": ["rt-1", "churn", "drift", '{"feature":"f2"}', 1.0, 2.0, 3.0],
    "model-updates": ["e1", 7.0, "churn-v2", "churn", "A", "B", "rollback", "slow",
                      "mixture-sprt-one-sided", 0.04, 0.02, None, 0.01, 900, 880, 1.0,
                      "guardrail slow"],
}


def test_model_updates_feed_model_versions_and_experiment_decisions_apart(
        schema: dict[str, list[str]]) -> None:
    from streams.wire.events import ExperimentStarted

    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    topic = TOPICS.model_updates
    published = ModelVersionPublished(model="churn", version="v2", artifact="x")
    started = ExperimentStarted(experiment="live", model="churn", champion="A",
                                challenger="B", share=0.1)
    bad_decision = encode(EVENTS["model-updates"]).replace(b'"n_champion":900',
                                                            b'"n_champion":"many"')
    rows, rejected = mapper.rows(topic, [
        SourceRecord(topic, 0, 1, b"churn", encode(published)),
        SourceRecord(topic, 0, 2, b"churn", encode(EVENTS["model-updates"])),
        SourceRecord(topic, 0, 3, b"churn", encode(started)),  # stored nowhere
        SourceRecord(topic, 0, 4, b"churn", b"{broken"),
        SourceRecord(topic, 0, 5, b"churn", bad_decision)])
    assert rows.table == "model_versions" and [r[-1] for r in rows.rows] == [1]
    (decisions,) = rows.also
    assert decisions.table == "experiment_decisions"
    assert list(decisions.columns) == schema["experiment_decisions"]
    assert decisions.rows == [[*EXPECTED_ROWS["model-updates"], 0, 2]]
    assert sorted((r.record.offset, r.kind) for r in rejected) == [(4, "malformed"),
                                                                  (5, "invalid")]


@pytest.mark.parametrize("role", [r for r in EVENTS if r != "model-updates"])
def test_rows_have_the_table_columns_in_order_and_the_source(
        role: str, schema: dict[str, list[str]]) -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    topic = TOPICS.name(role)
    recs = [SourceRecord(topic, 4, 77, b"k", encode(EVENTS[role])),
            SourceRecord(topic, 4, 78, b"k", b"{broken"),
            SourceRecord(topic, 5, 9, b"k", encode(EVENTS[role]))]
    rows, rejected = mapper.rows(topic, recs)
    assert rows.table == mapper.table_of(topic)
    assert list(rows.columns) == schema[rows.table]
    assert rows.rows == [[*EXPECTED_ROWS[role], 4, 77], [*EXPECTED_ROWS[role], 5, 9]]
    assert [(r.record.offset, r.kind) for r in rejected] == [(78, "malformed")]


def test_dead_letter_rows_parse_headers(schema: dict[str, list[str]]) -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    value = b'{"id": "r9"' + b" " * 100
    dl = dead_letter(Rejected(SourceRecord(TOPICS.requests, 2, 4242, b"r9", value),
                              "malformed", "JSON is malformed"))
    recs = [SourceRecord(TOPICS.dead_letter, 1, 17, dl.key, dl.value),
            SourceRecord(TOPICS.dead_letter, 1, 18, None, None)]
    rows, rejected = mapper.rows(TOPICS.dead_letter, recs, [dl.headers, []])
    assert rejected == []
    assert rows.table == "dead_letters" == mapper.table_of(TOPICS.dead_letter)
    assert list(rows.columns) == schema["dead_letters"]
    assert rows.rows == [
        [TOPICS.requests, 2, 4242, "malformed", "JSON is malformed", len(value), 1, 17],
        ["", 0, 0, "", "", 0, 1, 18],
    ]


def test_every_table_of_the_schema_is_fed(schema: dict[str, list[str]]) -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    fed = {mapper.table_of(t) for t in mapper.source_topics}
    # side tables, and tables fed by the same topic as another
    assert fed <= mapper.tables and mapper.tables - fed == {"validations", "experiment_decisions",
                                                              "shadow_decisions"}
    fed = mapper.tables
    # materialized views feed latency_minutely (from predictions) and
    # performance_estimates (from detector reports)
    by_views = {"latency_minutely", "performance_estimates"}
    assert fed | by_views == set(schema) and not fed & by_views
    assert json.loads(EXPECTED_ROWS["alerts"][-1]) == {"psi": 0.3}


@pytest.mark.parametrize(("policy", "stored"), [
    ("drop", ""), ("keep", "user-42"),
    # the reference: the standard library's HMAC-SHA256 of the raw id under the key
    ("hash", hmac.new(b"k" * 16, b"user-42", hashlib.sha256).hexdigest())])
def test_prediction_rows_apply_the_privacy_policy(policy: UnitIdPolicy, stored: str) -> None:
    private = PrivateFields(unit_id=policy, private_features=frozenset({"income", "absent"}),
                            hash_key=b"k" * 16)
    mapper = RowMapper(TOPICS, max_record_bytes=4096, private=private)
    event = msgspec.structs.replace(EVENTS["predictions"], unit_id="user-42",
                                    features={"f0": 1.5, "income": 52_123.25})
    rows, _ = mapper.rows(TOPICS.predictions,
                          [SourceRecord(TOPICS.predictions, 0, 1, b"r1", encode(event))])
    (row,) = rows.rows
    columns = dict(zip(rows.columns, row, strict=True))
    assert columns["unit_id"] == stored
    assert columns["features"] == {"f0": 1.5}
    assert "52123.25" not in repr(row) and ("user-42" in repr(row)) == (policy == "keep")


@pytest.mark.parametrize("policy", ["drop", "keep", "hash"])
def test_prediction_columns_hold_the_rows_of_the_per_event_mapping(policy: UnitIdPolicy) -> None:
    """The column builder of the hot topic and the per-event row mapping agree."""
    private = PrivateFields(unit_id=policy, private_features=frozenset({"income"}),
                            hash_key=b"k" * 16)
    events = [msgspec.structs.replace(EVENTS["predictions"], request_id=f"r{i}",
                                      unit_id=f"u{i % 3}", ts=10.0 + i,
                                      features={"f0": i / 3, "income": 1.0 * i},
                                      latency=Latency(queue_s=0.01, inference_s=0.02,
                                                      total_s=0.04, ttft_s=i or None))
              for i in range(7)]
    recs = [SourceRecord(TOPICS.predictions, i % 2, 100 + i, b"k", encode(e))
            for i, e in enumerate(events)]
    rows, _ = RowMapper(TOPICS, max_record_bytes=4096, private=private).rows(
        TOPICS.predictions, recs)
    assert len(rows) == len(events)
    assert rows.rows == [[*_prediction(e, private), r.partition, r.offset]
                         for e, r in zip(events, recs, strict=True)]


def test_hashing_without_a_key_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_UNIT_ID", "hash")
    with pytest.raises(ConfigError, match=r"INFERWATCH_CLICKHOUSE_HASH_KEY: .*required"):
        load(ClickHouseSettings)
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_HASH_KEY", "short-secret")
    with pytest.raises(ConfigError, match="at least 16") as err:
        load(ClickHouseSettings)
    assert "short-secret" not in str(err.value)
    with pytest.raises(ValueError, match="hash_key"):
        PrivateFields(unit_id="hash")
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_HASH_KEY", "0123456789abcdef-secret")
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_PRIVATE_FEATURES", "income, zip")
    private = load(ClickHouseSettings).private_fields()
    assert private.private_features == {"income", "zip"}
    assert private.unit("u") == hmac.new(b"0123456789abcdef-secret", b"u",
                                         hashlib.sha256).hexdigest()
    assert "secret" not in repr(private)
