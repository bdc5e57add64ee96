-- Migration 0005: accuracy estimated before labels arrive (CBPE), one row per decision
-- window, beside the realised accuracy of the labels that arrived in the window (NULL
-- when none did). Filled from the performance_estimate detector reports by a
-- materialised view, so the sink writes each window once, under the reports' insert
-- token: a replayed batch is dropped upstream and adds no row here. IF NOT EXISTS: a
-- migration interrupted before it was recorded is safely applied again.
CREATE TABLE IF NOT EXISTS performance_estimates (
    ts Float64,
    time DateTime64(3) ALIAS toDateTime64(ts, 3),
    model LowCardinality(String),
    variant LowCardinality(String),
    window_start Float64,
    window_end Float64,
    estimated_accuracy Float64,
    band_low Float64,
    band_high Float64,
    reference_accuracy Float64,
    realised_accuracy Nullable(Float64),
    labelled UInt64,
    n UInt64,
    degraded UInt8
) ENGINE = MergeTree ORDER BY (model, variant, window_start)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS performance_estimates_mv TO performance_estimates AS
SELECT ts, model, variant, window_start, window_end,
       statistic AS estimated_accuracy,
       JSONExtractFloat(evidence, 'band_low') AS band_low,
       JSONExtractFloat(evidence, 'band_high') AS band_high,
       JSONExtractFloat(evidence, 'reference_accuracy') AS reference_accuracy,
       if(JSONHas(evidence, 'realised_accuracy'),
          toNullable(JSONExtractFloat(evidence, 'realised_accuracy')),
          CAST(NULL, 'Nullable(Float64)')) AS realised_accuracy,
       toUInt64(JSONExtractFloat(evidence, 'labelled')) AS labelled,
       n,
       toUInt8(decision = 'drift') AS degraded
FROM detector_reports
WHERE detector = 'performance_estimate';
