-- Migration 0004: the retraining loop, from the model-updates and retrain-decisions topics.
-- model_versions: one row per model-updates event (a version published, an alias moved,
-- a rollback), with its lineage (retrain request, parent), data range, content hash,
-- training device and validation verdict. A worker that crashes after publishing and
-- before committing sends the same event again: ReplacingMergeTree keyed on what the
-- event is (model, version, action, alias, retrain request) keeps one (read with FINAL).
-- alias_changes: the alias moves, a view of model_versions (the registry's history).
-- validations: one row per check of a candidate against its champion.
-- retrain_decisions (below): the policy's decisions, from the retrain-decisions topic.
-- IF NOT EXISTS: a migration interrupted before it was recorded is safely applied again.

CREATE TABLE IF NOT EXISTS model_versions (
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    model LowCardinality(String),
    version String,
    action LowCardinality(String),
    artifact String,
    retrain_id String,
    parent String,
    alias LowCardinality(String),
    previous String,
    content_hash String,
    device LowCardinality(String),
    data_from Nullable(Float64),
    data_to Nullable(Float64),
    passed Nullable(Bool),
    reason String,
    metrics Map(String, Float64),
    traffic_split Map(String, Float64),
    src_partition UInt32,
    src_offset UInt64
) ENGINE = ReplacingMergeTree ORDER BY (model, version, action, alias, retrain_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS alias_changes AS
SELECT ts, time, model, alias, version, previous, action, retrain_id, reason
FROM model_versions FINAL WHERE alias != '';

CREATE TABLE IF NOT EXISTS validations (
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    model LowCardinality(String),
    version String,
    champion String,
    retrain_id String,
    check LowCardinality(String),
    value Float64,
    threshold Float64,
    passed Bool,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = ReplacingMergeTree ORDER BY (model, version, retrain_id, check)
SETTINGS non_replicated_deduplication_window = 10000;

-- retrain_decisions: the retrain policy's decisions (requested, or suppressed and why),
-- from the retrain-decisions topic; one row per decision (a replay adds nothing: the
-- sink's token and high-water mark).
CREATE TABLE IF NOT EXISTS retrain_decisions (
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    model LowCardinality(String),
    status LowCardinality(String),
    reason String,
    incident_start Float64,
    retrain_id String,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (model, ts)
SETTINGS non_replicated_deduplication_window = 10000;
