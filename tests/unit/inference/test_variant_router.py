"""Variant routing: realised split near the target, stable across instances and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from inference.routing import VariantRouter, unit_hash

SPLIT = {"champion": 0.7, "challenger": 0.2, "canary": 0.1}
UNITS = [f"user-{i}" for i in range(100_000)]
PROBES = ["user-0", "user-1", "user-2", "session-abc", "ü-ñicode", ""]


def _assign(router: VariantRouter, units: list[str]) -> np.ndarray:
    return np.array([router.assign(u) for u in units], dtype=object)


def test_realised_split_within_binomial_bounds() -> None:
    got = _assign(VariantRouter(SPLIT, salt="exp"), UNITS)
    for variant, share in SPLIT.items():
        low, high = stats.binom.interval(1 - 1e-6, len(UNITS), share)
        assert low <= int((got == variant).sum()) <= high, variant


def test_hash_positions_are_uniform() -> None:
    u = np.array([unit_hash(uid, "exp") for uid in UNITS[:20_000]])
    assert stats.kstest(u, "uniform").pvalue > 1e-4


def test_instances_agree_whatever_the_order_of_the_split() -> None:
    a, b = VariantRouter(SPLIT, salt="exp"), VariantRouter(dict(reversed(SPLIT.items())), "exp")
    assert _assign(a, UNITS[:2000]).tolist() == _assign(b, UNITS[:2000]).tolist()


def test_stable_across_process_restarts() -> None:
    here = {u: VariantRouter(SPLIT, salt="exp").assign(u) for u in PROBES}
    code = (
        "import json, sys; from inference.routing import VariantRouter; "
        f"r = VariantRouter({SPLIT!r}, salt='exp'); "
        f"print(json.dumps({{u: r.assign(u) for u in {PROBES!r}}}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout) == here


def test_golden_values_recorded_in_an_earlier_process() -> None:
    assert unit_hash("user-42", "golden") == 0.010044859055953708
    router = VariantRouter({"a": 0.5, "b": 0.5}, salt="golden")
    assert [router.assign(f"u{i}") for i in range(8)] == list("bbbbbaba")


def test_salt_makes_experiments_independent() -> None:
    x = _assign(VariantRouter({"a": 0.5, "b": 0.5}, salt="one"), UNITS[:20_000])
    y = _assign(VariantRouter({"a": 0.5, "b": 0.5}, salt="two"), UNITS[:20_000])
    table = [[int(((x == i) & (y == j)).sum()) for j in "ab"] for i in "ab"]
    assert stats.chi2_contingency(table).pvalue > 1e-4


def test_growing_a_share_only_moves_units_towards_it() -> None:
    before = _assign(VariantRouter({"a": 0.9, "b": 0.1}), UNITS[:20_000])
    after = _assign(VariantRouter({"a": 0.8, "b": 0.2}), UNITS[:20_000])
    assert not np.any((before == "b") & (after == "a"))
    assert np.any((before == "a") & (after == "b"))


def test_zero_share_variant_gets_no_one() -> None:
    router = VariantRouter({"a": 0.3, "b": 0.7, "z": 0.0})
    assert "z" not in set(_assign(router, UNITS[:20_000]).tolist())
    assert VariantRouter({"only": 1.0}).assign("x") == "only"


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ({}, "at least one variant"),
        ({"a": 0.5, "b": -0.1, "c": 0.6}, r"split\['b'\] must be a finite share >= 0"),
        ({"a": float("nan"), "b": 1.0}, r"split\['a'\]"),
        ({"a": 0.5, "b": 0.4}, "sum to 1"),
        ({"a": 0.5, "b": 0.5 + 1e-8}, "sum to 1"),
        ({"": 1.0}, "non-empty variant names"),
    ],
)
def test_bad_split_names_the_field(split: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VariantRouter(split)
