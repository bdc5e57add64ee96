"""The river-named change detectors fire where river's do, on seeded streams."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from river import drift
from river.drift import binary

from detectors.change import ADWIN, DDM, EDDM, KSWIN, PageHinkley


def _stream(kind: str, seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "binary":
        rate = np.repeat(rng.uniform(0.05, 0.6, 5), n // 5)
        return (rng.random(n) < rate).astype(float)
    if kind == "gradual":
        mean = np.interp(np.arange(n), [0, n / 2, n], [0.0, 0.0, rng.normal(0, 3)])
        return rng.normal(mean, 1.0)
    mean = np.repeat(rng.normal(0.0, 2.0, 5), n // 5)
    return rng.normal(mean, rng.uniform(0.5, 2.0))


def _alarms(det: Any, values: np.ndarray) -> list[int]:
    hits = []
    for i, x in enumerate(values.tolist()):
        det.update(x)
        if det.drift_detected:
            hits.append(i)
    return hits


CASES = [
    (ADWIN, drift.ADWIN, {}, "real", 20_000),
    (ADWIN, drift.ADWIN, {"delta": 0.05, "clock": 1, "max_buckets": 3}, "gradual", 5_000),
    (ADWIN, drift.ADWIN, {"min_window_length": 20, "grace_period": 100}, "binary", 20_000),
    (PageHinkley, drift.PageHinkley, {}, "real", 20_000),
    (PageHinkley, drift.PageHinkley, {"mode": "up", "threshold": 20.0}, "gradual", 20_000),
    (PageHinkley, drift.PageHinkley, {"mode": "down", "alpha": 0.99}, "real", 20_000),
    (KSWIN, drift.KSWIN, {"seed": 7}, "real", 3_000),
    (KSWIN, drift.KSWIN, {"seed": 1, "alpha": 0.001, "window_size": 200, "stat_size": 50},
     "gradual", 3_000),
    (DDM, binary.DDM, {}, "binary", 20_000),
    (DDM, binary.DDM, {"warm_start": 100, "drift_threshold": 2.5}, "binary", 20_000),
    (EDDM, binary.EDDM, {}, "binary", 20_000),
    (EDDM, binary.EDDM, {"alpha": 0.8, "beta": 0.75}, "binary", 20_000),
]


@pytest.mark.parametrize(("ours", "theirs", "params", "kind", "n"), CASES,
                         ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("seed", [0, 1, 3])
def test_same_alarms_as_river(ours: Any, theirs: Any, params: dict[str, Any], kind: str,
                              n: int, seed: int) -> None:
    values = _stream(kind, seed, n)
    expected = _alarms(theirs(**params), values)
    assert expected, "the stream should make river's detector fire"
    assert _alarms(ours(**params), values) == expected
    assert ours(**params).update_many(values).tolist() == expected


def test_defaults_match_river() -> None:
    pairs = [(ADWIN, drift.ADWIN), (PageHinkley, drift.PageHinkley), (KSWIN, drift.KSWIN),
             (DDM, binary.DDM), (EDDM, binary.EDDM)]
    for ours, theirs in pairs:
        mine = ours()._get_params()
        river_params = theirs()._get_params()
        shared = {k: v for k, v in river_params.items() if k not in ("seed", "window")}
        assert {k: mine[k] for k in shared} == shared, ours.__name__


def test_adwin_window_statistics_match_river() -> None:
    values = _stream("real", 5, 3_000)
    ours, theirs = ADWIN(), drift.ADWIN()
    ours.update_many(values)
    for x in values.tolist():
        theirs.update(x)
    assert (ours.width, ours.total, ours.variance) == (theirs.width, theirs.total,
                                                        theirs.variance)
    assert ours.estimation == theirs.estimation


def test_page_hinkley_statistic_tracks_river_closely() -> None:
    values = _stream("real", 6, 5_000)
    ours, theirs = PageHinkley(threshold=1e9), drift.PageHinkley(threshold=1e9)
    ours.update_many(values)
    for x in values.tolist():
        theirs.update(x)
    assert ours._sum_increase == pytest.approx(theirs._sum_increase, rel=1e-9, abs=1e-9)
    assert ours._max_decrease == pytest.approx(theirs._max_decrease, rel=1e-9, abs=1e-9)
