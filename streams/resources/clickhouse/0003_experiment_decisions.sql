-- Migration 0003: one row per look of a champion/challenger experiment
-- (streams/decision/experiment.py). The id is the same for the same look, so a decision
-- written twice (a redelivery after a crash) is kept once.
CREATE TABLE IF NOT EXISTS experiment_decisions (
    id String,
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    experiment LowCardinality(String),
    model LowCardinality(String),
    champion LowCardinality(String),
    challenger LowCardinality(String),
    action LowCardinality(String),
    metric LowCardinality(String),
    test LowCardinality(String),
    estimate Nullable(Float64),
    lower Nullable(Float64),
    upper Nullable(Float64),
    p_value Float64,
    n_champion UInt64,
    n_challenger UInt64,
    srm_p_value Float64,
    reason String,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = ReplacingMergeTree ORDER BY (model, experiment, id)
SETTINGS non_replicated_deduplication_window = 10000;
