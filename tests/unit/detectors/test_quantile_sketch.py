"""QuantileSketch against numpy's exact quantiles on seeded latency distributions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detectors.quantile_sketch import QuantileSketch

QUANTILES = (0.5, 0.95, 0.99, 0.999)
# Floating-point slack on top of the bound: log() rounding can move a value that sits on a
# bucket boundary by one ulp, nothing more.
ULP_SLACK = 1e-12


def _distributions() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    n = 50_000
    lognormal = rng.lognormal(mean=np.log(0.05), sigma=0.6, size=n)
    bimodal = np.concatenate([rng.normal(0.02, 0.002, n // 2),
                              rng.normal(0.4, 0.05, n - n // 2)])
    bimodal = np.abs(bimodal)
    pareto = (rng.pareto(1.5, size=n) + 1.0) * 0.01  # heavy tail, x_m = 10 ms
    return {"lognormal": lognormal, "bimodal": bimodal, "pareto": pareto}


DATA = _distributions()


def _assert_within(sketch: QuantileSketch, data: np.ndarray, accuracy: float) -> None:
    for q in QUANTILES:
        exact = float(np.quantile(data, q, method="lower"))
        got = sketch.quantile(q)
        assert abs(got - exact) <= accuracy * abs(exact) * (1 + ULP_SLACK), (q, got, exact)


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("accuracy", [0.005, 0.01, 0.05])
def test_quantiles_within_relative_error_of_numpy(name: str, accuracy: float) -> None:
    data = DATA[name]
    sketch = QuantileSketch(relative_accuracy=accuracy)
    sketch.update_many(data)
    _assert_within(sketch, data, accuracy)
    assert sketch.count == data.size
    assert sketch.sum == pytest.approx(float(data.sum()), rel=1e-12)
    assert (sketch.min, sketch.max) == (float(data.min()), float(data.max()))


@pytest.mark.parametrize("name", sorted(DATA))
def test_merged_partitions_match_the_single_sketch(name: str) -> None:
    data = DATA[name]
    rng = np.random.default_rng(3)
    partition = rng.integers(0, 6, size=data.size)
    parts = []
    for p in range(6):
        s = QuantileSketch(relative_accuracy=0.01)
        s.update_many(data[partition == p])
        parts.append(QuantileSketch.from_dict(json.loads(json.dumps(s.snapshot()))))
    merged = QuantileSketch(relative_accuracy=0.01)
    for s in parts:
        merged.merge(s)
    _assert_within(merged, data, 0.01)
    whole = QuantileSketch(relative_accuracy=0.01)
    whole.update_many(data)
    for q in QUANTILES:
        assert merged.quantile(q) == whole.quantile(q)
    assert merged.snapshot()["pos"] == whole.snapshot()["pos"]


def test_update_many_equals_looped_update_with_zero_negative_and_collapse() -> None:
    rng = np.random.default_rng(11)
    # Values spanning 1e-9..1e9 with max_bins=16 force the lowest buckets to collapse.
    values = np.concatenate([10.0 ** rng.uniform(-9, 9, 400), np.zeros(7),
                             -rng.lognormal(0, 1, 50)])
    rng.shuffle(values)
    looped = QuantileSketch(relative_accuracy=0.02, max_bins=16)
    for v in values:
        looped.update(float(v))
    batched = QuantileSketch(relative_accuracy=0.02, max_bins=16)
    for chunk in np.array_split(values, 5):
        batched.update_many(chunk)
    a, b = looped.snapshot(), batched.snapshot()
    assert a.pop("sum") == pytest.approx(b.pop("sum"), rel=1e-9)
    assert a == b
    assert a["zero"] == 7
    assert looped.bin_count <= 2 * 16


def test_collapse_keeps_memory_bounded_and_upper_quantiles_exact_enough() -> None:
    rng = np.random.default_rng(5)
    data = 10.0 ** rng.uniform(-12, 3, 100_000)
    sketch = QuantileSketch(relative_accuracy=0.01, max_bins=64)
    sketch.update_many(data)
    assert sketch.bin_count <= 64
    # 64 buckets of gamma=1.0202 span a factor gamma**64 = 3.6: the top 3.6x of the range
    # (values above 277) keeps the guarantee.
    for q in (0.99, 0.999):
        exact = float(np.quantile(data, q, method="lower"))
        assert abs(sketch.quantile(q) - exact) <= 0.01 * exact * (1 + ULP_SLACK)
    # Below the collapsed range the estimate is the lowest kept bucket, far from the truth.
    assert sketch.quantile(0.5) > 100 * float(np.quantile(data, 0.5, method="lower"))


def test_negative_and_zero_values_within_error() -> None:
    rng = np.random.default_rng(9)
    data = np.concatenate([-rng.lognormal(0, 1, 3000), np.zeros(1000), rng.lognormal(0, 1, 6000)])
    sketch = QuantileSketch(relative_accuracy=0.01)
    sketch.update_many(data)
    for q in (0.01, 0.1, 0.3, 0.35, 0.5, 0.9, 0.99):
        exact = float(np.quantile(data, q, method="lower"))
        assert abs(sketch.quantile(q) - exact) <= 0.01 * abs(exact) * (1 + ULP_SLACK), q
    assert sketch.quantile(0.35) == 0.0
    assert sketch.quantile(0.0) == data.min() and sketch.quantile(1.0) == data.max()


def test_round_trip_is_json_and_identical() -> None:
    sketch = QuantileSketch(relative_accuracy=0.02, max_bins=128)
    sketch.update_many(DATA["pareto"][:5000])
    sketch.update(0.0)
    d = json.loads(json.dumps(sketch.snapshot(), allow_nan=False))
    back = QuantileSketch.from_dict(d)
    assert back.snapshot() == sketch.snapshot()
    assert [back.quantile(q) for q in QUANTILES] == [sketch.quantile(q) for q in QUANTILES]
    # Compact: dense counts only between the first and last non-empty bucket.
    assert len(d["pos"]["counts"]) == sketch.bin_count


def test_empty_sketch() -> None:
    sketch = QuantileSketch()
    assert math.isnan(sketch.quantile(0.5))
    assert math.isnan(sketch.min) and math.isnan(sketch.max)
    assert (sketch.count, sketch.sum) == (0, 0.0)
    back = QuantileSketch.from_dict(json.loads(json.dumps(sketch.snapshot(), allow_nan=False)))
    assert back.count == 0 and math.isnan(back.quantile(0.99))
    sketch.merge(back)
    assert sketch.count == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"relative_accuracy": 0.0}, r"relative_accuracy must be in \(0, 1\)"),
    ({"relative_accuracy": 1.0}, r"relative_accuracy must be in \(0, 1\)"),
    ({"max_bins": 8}, r"max_bins must be an integer in \[16, inf\)"),
    ({"max_bins": 100.0}, r"max_bins must be an integer in \[16, inf\)"),
])
def test_bad_hyper_parameters_name_the_valid_range(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuantileSketch(**kwargs)


def test_bad_inputs_raise() -> None:
    sketch = QuantileSketch()
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        sketch.quantile(1.5)
    with pytest.raises(ValueError, match="finite"):
        sketch.update(math.nan)
    with pytest.raises(ValueError, match="finite"):
        sketch.update_many(np.array([1.0, math.inf]))
    with pytest.raises(ValueError, match="different relative_accuracy"):
        sketch.merge(QuantileSketch(relative_accuracy=0.02))
    bad = sketch.snapshot() | {"count": 3}
    with pytest.raises(ValueError, match="inconsistent"):
        QuantileSketch.from_dict(bad)
    assert sketch.count == 0
