"""The report's figures, read back from chDB, against numpy on the stored scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streams.report.queries import drift_views, incidents, latency_views
from streams.storage.clickhouse_store import ClickHouseStore
from tests.report_scenario import DRIFT_WINDOWS, T0, WINDOW_S, profiles, store_scenario


def test_figures_match_numpy_on_the_stored_incident(tmp_path: Path) -> None:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        sc = store_scenario(store, tmp_path / "models")
        (drift,) = drift_views(store, profiles(tmp_path / "models"))
        latency = {v.model: v for v in latency_views(store)}
        episodes = incidents(store)
    finally:
        store.close()
    assert (drift.model, drift.feature, drift.segment) == ("churn", "f2", "region=eu")
    last = max(DRIFT_WINDOWS)
    assert drift.window == (T0 + last * WINDOW_S, T0 + (last + 1) * WINDOW_S)
    # the current histogram: the window's region=eu rows over the reference's decile bins
    edges = sc.profile.edges[2]
    expected = np.histogram(sc.f2_eu[last], bins=[-np.inf, *edges, np.inf])[0]
    assert drift.n_current == len(sc.f2_eu[last])
    np.testing.assert_allclose(drift.current, expected / expected.sum() * 100)
    np.testing.assert_allclose(drift.reference, sc.profile.counts[2] / sc.profile.n * 100)
    # PSI per window as the detector computed it (evidence rounds to 4 digits)
    for ts, psi in drift.psi:
        assert abs(psi - sc.psi[round((ts - T0) / WINDOW_S) - 1]) < 1e-4
    assert [m.kind for m in drift.marks] == ["firing", "resolved"]
    # latency: 10 s windows, 60-point cap -> 5 s steps; exact quantiles per step
    ranker = latency["ranker"]
    assert ranker.step_s == 5 and ranker.alert_threshold_s == 0.25
    t, p50, p99, p999 = ranker.points[0]
    assert t == T0
    # the first 5 s of window 0: the stored rows are the window's latencies by time
    stored = sc.latencies[0][sc.latency_ts[0] < T0 + 5]
    assert stored.size > 0
    np.testing.assert_allclose([p50, p99, p999], np.quantile(stored, [0.5, 0.99, 0.999]))
    assert [(e.model, e.ends_at is None) for e in episodes] == [
        ("churn", False), ("ranker", False), ("assistant", True)]
