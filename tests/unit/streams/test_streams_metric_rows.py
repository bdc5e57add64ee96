"""Rows of the ClickHouse tables from records of each topic (pure, no database)."""

from __future__ import annotations

import json
import re

import pytest

from streams.clickhouse_store import SCHEMA
from streams.codec import Rejected, SourceRecord, encode
from streams.dead_letter import dead_letter
from streams.events import (
    Alert,
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
from streams.metric_rows import RowMapper
from streams.topics import Topics

TOPICS = Topics("p.")


def schema_columns() -> dict[str, list[str]]:
    """Stored (non-ALIAS) columns of every table in deploy/clickhouse/schema.sql, in order."""
    lines = SCHEMA.read_text().splitlines()
    text = "\n".join(ln for ln in lines if not ln.lstrip().startswith("--"))
    tables = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\) ENGINE", text, re.S):
        cols = [line.strip().split()[0] for line in body.strip().splitlines()
                if line.strip() and " ALIAS " not in line]
        tables[name] = cols
    return tables


EVENTS: dict[str, Event] = {
    "predictions": Prediction(
        request_id="r1", ts=10.5, model="churn", variant="B", model_version="v2",
        output=ModelOutput(label=1, score=0.8, probabilities=[0.2, 0.8]),
        latency=Latency(queue_s=0.01, inference_s=0.02, total_s=0.04), batch_size=16,
        device="cuda", features={"f0": 1.5}, segment={"region": "eu"}),
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
    "predictions": ["r1", 10.5, "churn", "B", "v2", 1, 0.8, 0.01, 0.02, 0.04, None, 16, "cuda",
                    {"region": "eu"}, {"f0": 1.5}, None],
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


def test_published_versions_on_model_updates_are_not_experiment_rows() -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    topic = TOPICS.model_updates
    published = ModelVersionPublished(model="churn", version="v2", artifact="x")
    rows, rejected = mapper.rows(topic, [
        SourceRecord(topic, 0, 1, b"churn", encode(published)),
        SourceRecord(topic, 0, 2, b"churn", encode(EVENTS["model-updates"]))])
    assert rejected == [] and [r[-1] for r in rows.rows] == [2]


@pytest.mark.parametrize("role", list(EVENTS))
def test_rows_have_the_table_columns_in_order_and_the_source(role: str) -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    topic = TOPICS.name(role)
    recs = [SourceRecord(topic, 4, 77, b"k", encode(EVENTS[role])),
            SourceRecord(topic, 4, 78, b"k", b"{broken"),
            SourceRecord(topic, 5, 9, b"k", encode(EVENTS[role]))]
    rows, rejected = mapper.rows(topic, recs)
    assert rows.table == mapper.table_of(topic)
    assert list(rows.columns) == schema_columns()[rows.table]
    assert rows.rows == [[*EXPECTED_ROWS[role], 4, 77], [*EXPECTED_ROWS[role], 5, 9]]
    assert [(r.record.offset, r.kind) for r in rejected] == [(78, "malformed")]


def test_dead_letter_rows_parse_headers() -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    value = b'{"id": "r9"' + b" " * 100
    dl = dead_letter(Rejected(SourceRecord(TOPICS.requests, 2, 4242, b"r9", value),
                              "malformed", "JSON is malformed"))
    recs = [SourceRecord(TOPICS.dead_letter, 1, 17, dl.key, dl.value),
            SourceRecord(TOPICS.dead_letter, 1, 18, None, None)]
    rows, rejected = mapper.rows(TOPICS.dead_letter, recs, [dl.headers, []])
    assert rejected == []
    assert rows.table == "dead_letters" == mapper.table_of(TOPICS.dead_letter)
    assert list(rows.columns) == schema_columns()["dead_letters"]
    assert rows.rows == [
        [TOPICS.requests, 2, 4242, "malformed", "JSON is malformed", len(value), 1, 17],
        ["", 0, 0, "", "", 0, 1, 18],
    ]


def test_every_table_of_the_schema_is_fed() -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    text = SCHEMA.read_text()
    by_views = set(re.findall(r"MATERIALIZED VIEW IF NOT EXISTS \w+ TO (\w+)", text))
    assert by_views == {"latency_minutely"}
    fed = {mapper.table_of(t) for t in mapper.source_topics}
    assert fed | by_views == set(schema_columns()) and not fed & by_views
    assert json.loads(EXPECTED_ROWS["alerts"][-1]) == {"psi": 0.3}
