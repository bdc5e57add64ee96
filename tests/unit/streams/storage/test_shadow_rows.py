"""A shadow's outputs are stored in their own table and join their answers by request id
(the embedded engine, chDB; no Kafka)."""

from __future__ import annotations

from pathlib import Path

from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Latency, ModelOutput, Prediction
from streams.wire.topics import Topics

TOPICS = Topics("p.")


def _prediction(rid: str, variant: str, version: str, label: int) -> Prediction:
    return Prediction(request_id=rid, ts=10.0, model="churn", variant=variant,
                      model_version=version, output=ModelOutput(label=label, score=0.7),
                      latency=Latency(queue_s=0.0, inference_s=0.01, total_s=0.02))


def test_shadow_rows_go_to_their_table_and_join_their_answers(tmp_path: Path) -> None:
    mapper = RowMapper(TOPICS, max_record_bytes=4096)
    assert mapper.table_of(TOPICS.shadow_predictions) == "shadow_predictions"
    assert TOPICS.shadow_predictions in mapper.source_topics
    answers = [_prediction(f"r{i}", "A", "v1", i % 2) for i in range(4)]
    shadows = [_prediction(f"r{i}", "shadow", "v2", 1) for i in (1, 2)]
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        for topic, events in ((TOPICS.predictions, answers), (TOPICS.shadow_predictions, shadows)):
            records = [SourceRecord(topic, 0, i, e.request_id.encode(), encode(e))
                       for i, e in enumerate(events)]
            rows, rejected = mapper.rows(topic, records)
            assert not rejected and len(rows) == len(events)
            store.insert_columns(rows.table, rows.columns, rows.data, f"{topic}|0-{len(events)}")
        pairs = store.query(
            "SELECT p.request_id, p.model_version, p.label, s.model_version, s.label "
            "FROM predictions AS p INNER JOIN shadow_predictions AS s "
            "ON p.request_id = s.request_id AND p.model = s.model ORDER BY p.request_id")
        assert [tuple(r) for r in pairs] == [("r1", "v1", 1, "v2", 1), ("r2", "v1", 0, "v2", 1)]
        assert store.high_water("shadow_predictions") == {0: 1}
    finally:
        store.close()


def test_a_shadow_decision_is_a_row_of_shadow_decisions(tmp_path: Path) -> None:
    from streams.wire.events import ModelVersionPublished, ShadowDecided

    look = ShadowDecided(id="s1", model="churn", version="v2", answer_version="v1",
                         action="reject", test="beta-binomial-discordant-pairs", estimate=0.2,
                         lower=0.05, upper=0.45, p_value=0.01, effect=-0.03, labelled=400,
                         discordant=30, requests=900, disagreement=None,
                         disagreement_lower=0.0, disagreement_upper=1.0, reason="worse", ts=9.0)
    published = ModelVersionPublished(model="churn", version="v2", artifact="x")
    topic = TOPICS.model_updates
    rows, rejected = RowMapper(TOPICS, max_record_bytes=4096).rows(topic, [
        SourceRecord(topic, 0, 1, b"churn", encode(published)),
        SourceRecord(topic, 0, 2, b"churn", encode(look))])
    assert not rejected and rows.table == "model_versions" and len(rows) == 1
    (side,) = [t for t in rows.also if t.table == "shadow_decisions"]
    assert side.rows == [["s1", 9.0, "churn", "v2", "v1", "reject",
                          "beta-binomial-discordant-pairs", 0.2, 0.05, 0.45, 0.01, -0.03, 400,
                          30, 900, None, 0.0, 1.0, "worse", 0, 2]]
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        store.insert_columns(side.table, side.columns, side.data, "t|shadow_decisions")
        assert store.query("SELECT model, version, action, labelled FROM shadow_decisions"
                           ) == [("churn", "v2", "reject", 400)]
    finally:
        store.close()
