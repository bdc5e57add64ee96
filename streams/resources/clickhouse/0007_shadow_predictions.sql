-- Migration 0007: a shadow version's outputs (the shadow-predictions topic), one row per
-- request its share picked, linked to the answer in `predictions` by request_id (and
-- model). The columns of `predictions` as they stand here, copied (the sink writes the
-- same rows to both; a later migration that adds a column to one adds it to the other),
-- ordered by shadow version, then request id.
-- IF NOT EXISTS: a migration interrupted before it was recorded is safely applied again.
CREATE TABLE IF NOT EXISTS shadow_predictions AS predictions
ENGINE = MergeTree ORDER BY (model, model_version, request_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Each look of the paired verdict on a shadow version (ShadowDecided on the model-updates
-- topic): before labels the disagreement rate and its interval, after them the share of
-- discordant pairs the shadow won with its confidence sequence; the final look's action
-- (promote_challenger, promote_champion, reject) is the decision. Kept once per look by
-- its id (a replayed batch writes the same ids).
CREATE TABLE IF NOT EXISTS shadow_decisions (
    id String,
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    model LowCardinality(String),
    version LowCardinality(String),
    answer_version LowCardinality(String),
    action LowCardinality(String),
    test LowCardinality(String),
    estimate Float64,
    lower Float64,
    upper Float64,
    p_value Float64,
    effect Float64,
    labelled UInt64,
    discordant UInt64,
    requests UInt64,
    disagreement Nullable(Float64),
    disagreement_lower Float64,
    disagreement_upper Float64,
    reason String,
    src_partition UInt32,
    src_offset UInt64
) ENGINE = ReplacingMergeTree ORDER BY (model, version, id);
