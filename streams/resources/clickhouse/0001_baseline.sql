-- Migration 0001, the baseline: the schema of the releases before migrations existed
-- (their sink applied it at start; every statement is CREATE ... IF NOT EXISTS, so on a
-- store they made this migration changes nothing and is only recorded).
-- Every table keeps the Kafka source (partition, offset) of each row: after a crash the
-- sink skips what is already stored, and insert_deduplication_token (enabled by the
-- non-replicated deduplication window) makes a retried insert add nothing.
-- Times are epoch seconds (Float64) with a DateTime64 alias column for Grafana.

CREATE TABLE IF NOT EXISTS predictions (
    request_id String,
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    model LowCardinality(String),
    variant LowCardinality(String),
    model_version LowCardinality(String),
    label Int32,
    score Float64,
    queue_s Float64,
    inference_s Float64,
    total_s Float64,
    ttft_s Nullable(Float64),
    batch_size UInt32,
    device LowCardinality(String),
    segment Map(String, String),
    features Map(String, Float64),
    error Nullable(String),
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (model, ts, request_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS outcomes (
    request_id String,
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    kind LowCardinality(String),
    value Float64,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (request_id, ts)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS detector_reports (
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    detector LowCardinality(String),
    model LowCardinality(String),
    variant LowCardinality(String),
    segment String,
    window_start Float64,
    window_end Float64,
    n UInt64,
    statistic Float64,
    threshold Float64,
    p_value Nullable(Float64),
    decision LowCardinality(String),
    evidence String,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (model, detector, ts)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS alerts (
    fingerprint String,
    status LowCardinality(String),
    severity LowCardinality(String),
    model LowCardinality(String),
    detector LowCardinality(String),
    summary String,
    description String,
    labels Map(String, String),
    starts_at Float64,
    ends_at Nullable(Float64),
    evidence String,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (model, starts_at, fingerprint)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS retrain_events (
    id String,
    model LowCardinality(String),
    reason String,
    evidence String,
    data_from Float64,
    data_to Float64,
    requested_at Float64,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (model, requested_at)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS dead_letters (
    source_topic LowCardinality(String),
    source_partition UInt32,
    source_offset UInt64,
    kind LowCardinality(String),
    error String,
    size UInt64,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = MergeTree ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- Per-minute latency states (ClickHouse's own DDSketch), per model and variant, globally
-- (segment '*') and per segment label. States merge: a dashboard asks
-- quantilesDDMerge(0.005, 0.5, 0.9, 0.99, 0.999)(total) over any minutes and segments.
-- ClickHouse answers with a bucket edge: measured within 3 x 0.005 = 1.5% of numpy's
-- quantiles (tests/unit/streams/storage/test_latency_minutely.py).
CREATE TABLE IF NOT EXISTS latency_minutely (
    model LowCardinality(String),
    variant LowCardinality(String),
    segment String,
    minute DateTime,
    n AggregateFunction(count),
    queue AggregateFunction(quantilesDD(0.005, 0.5, 0.9, 0.99, 0.999), Float64),
    inference AggregateFunction(quantilesDD(0.005, 0.5, 0.9, 0.99, 0.999), Float64),
    total AggregateFunction(quantilesDD(0.005, 0.5, 0.9, 0.99, 0.999), Float64)
) ENGINE = AggregatingMergeTree ORDER BY (model, variant, segment, minute)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_minutely_all TO latency_minutely AS
SELECT model, variant, '*' AS segment, toStartOfMinute(toDateTime(ts)) AS minute,
       countState() AS n,
       quantilesDDState(0.005, 0.5, 0.9, 0.99, 0.999)(queue_s) AS queue,
       quantilesDDState(0.005, 0.5, 0.9, 0.99, 0.999)(inference_s) AS inference,
       quantilesDDState(0.005, 0.5, 0.9, 0.99, 0.999)(total_s) AS total
FROM predictions GROUP BY model, variant, segment, minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_minutely_segments TO latency_minutely AS
SELECT model, variant, seg AS segment, minute,
       countState() AS n,
       quantilesDDState(0.005, 0.5, 0.9, 0.99, 0.999)(queue_s) AS queue,
       quantilesDDState(0.005, 0.5, 0.9, 0.99, 0.999)(inference_s) AS inference,
       quantilesDDState(0.005, 0.5, 0.9, 0.99, 0.999)(total_s) AS total
FROM (
    SELECT model, variant, concat(k, '=', v) AS seg, toStartOfMinute(toDateTime(ts)) AS minute,
           queue_s, inference_s, total_s
    FROM predictions ARRAY JOIN mapKeys(segment) AS k, mapValues(segment) AS v
)
GROUP BY model, variant, seg, minute;
