"""Per-minute latency states in ClickHouse merge into quantiles within 1% of numpy's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import _MAPPINGS  # the predictions table's column order

LEVELS = (0.5, 0.9, 0.99, 0.999)
ACCURACY = 0.005  # the schema's quantilesDD relative accuracy


def test_minutely_states_merge_to_quantiles_within_relative_accuracy(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    totals = rng.lognormal(np.log(0.05), 0.6, n)
    ts = 1_700_000_000.0 + np.sort(rng.uniform(0, 600, n))  # ten minutes
    regions = rng.choice(["eu", "us"], n)
    cols = (*_MAPPINGS["predictions"].columns, "src_partition", "src_offset")
    rows = [[f"r{i}", float(ts[i]), "m", "A", "v1", 0, 0.5, totals[i] / 10, totals[i] / 2,
             float(totals[i]), None, None, None, None, 1, "cpu", {"region": str(regions[i])}, "",
             {}, None, 0, i]
            for i in range(n)]
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store.apply_schema()
        store.insert("predictions", cols, rows, token="t1")
        store.insert("predictions", cols, rows, token="t1")  # a retry: states must not double
        (count, qs), = store.query(
            "SELECT countMerge(n), quantilesDDMerge(0.005, 0.5, 0.9, 0.99, 0.999)(total) "
            "FROM latency_minutely WHERE model = 'm' AND segment = '*'")
        (minutes,), = store.query("SELECT uniqExact(minute) FROM latency_minutely "
                                  "WHERE segment = '*'")
        (eu_count, eu_qs), = store.query(
            "SELECT countMerge(n), quantilesDDMerge(0.005, 0.5, 0.9, 0.99, 0.999)(total) "
            "FROM latency_minutely WHERE segment = 'region=eu'")
    finally:
        store.close()
    assert count == n and minutes in (10, 11)
    # ClickHouse's quantileDD(a) answers a bucket edge: within 3a of the exact quantile
    bound = 3 * ACCURACY
    for level, got in zip(LEVELS, qs, strict=True):
        exact = float(np.quantile(totals, level))
        assert abs(got - exact) <= bound * exact, (level, got, exact)
    eu = totals[regions == "eu"]
    assert eu_count == len(eu)
    assert abs(eu_qs[2] - np.quantile(eu, 0.99)) <= bound * np.quantile(eu, 0.99)
