"""The contract every binned window test keeps (feature drift, category drift).

Both judge a merged window's counts per (segment, feature) against a reference, as one
Benjamini-Hochberg family. For each: the answer does not depend on the order segments and
features come in, a drift is both significant after BH and large (PSI), adjusted p-values
never fall below raw ones, empty windows say nothing, and a bad hyper-parameter raises a
ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from detectors.category_drift import category_drift
from detectors.feature_drift import segmented_drift
from detectors.reference.categories import CategoryProfile

Windows = dict[str, dict[str, np.ndarray]]


@dataclass(frozen=True)
class WindowTest:
    """One window test: how to run it, and what a row of its answer is."""

    run: Callable[..., list[Any]]
    reference: Any
    bins: Mapping[str, int]

    def row(self, r: Any) -> tuple[str, str, float, float, float, bool]:
        shift = getattr(r, "shift", r)
        return (r.segment, shift.feature, shift.psi, shift.p_value, shift.p_adjusted,
                shift.drifted)


def _feature() -> WindowTest:
    rng = np.random.default_rng(0)
    ref = {f"f{j}": rng.integers(50, 500, 10) for j in range(4)}
    return WindowTest(segmented_drift, ref, {f: 10 for f in ref})


def _category() -> WindowTest:
    vocab = {"plan": ["free", "pro", "team"], "country": ["FR", "DE", "US"]}
    rng = np.random.default_rng(0)
    prof = CategoryProfile.from_columns(
        {n: list(rng.choice(v, 3000)) for n, v in vocab.items()}, vocab)
    return WindowTest(category_drift, prof, {n: len(v) + 2 for n, v in vocab.items()})


TESTS = {"segmented_drift": _feature, "category_drift": _category}


def _windows(t: WindowTest, seed: int) -> Windows:
    rng = np.random.default_rng(seed)
    wins: Windows = {}
    for seg in ("*", "region=eu", "region=us", "tier=gold"):
        wins[seg] = {f: rng.multinomial(int(rng.integers(100, 900)), rng.dirichlet(
            np.ones(k) * (2 if seg == "region=eu" else 50))) for f, k in t.bins.items()}
    return wins


def test_every_window_test_is_held_to_the_contract() -> None:
    assert set(TESTS) == {"segmented_drift", "category_drift"}


@pytest.mark.parametrize("name", sorted(TESTS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_answer_does_not_depend_on_order(name: str, seed: int) -> None:
    t = TESTS[name]()
    wins = _windows(t, seed)
    shuffled = {s: dict(reversed(list(w.items()))) for s, w in reversed(list(wins.items()))}
    first = sorted(t.row(r) for r in t.run(wins, t.reference, alpha=0.01, min_psi=0.1))
    again = sorted(t.row(r) for r in t.run(shuffled, t.reference, alpha=0.01, min_psi=0.1))
    assert first == again and len(first) == 4 * len(t.bins)


@pytest.mark.parametrize("name", sorted(TESTS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_drift_is_significant_and_large(name: str, seed: int) -> None:
    t = TESTS[name]()
    rows = [t.row(r) for r in t.run(_windows(t, seed), t.reference, alpha=0.01,
                                     min_psi=0.1)]
    assert any(drifted for *_, drifted in rows), "the skewed segment drifts"
    for _, _, size, p, p_adj, drifted in rows:
        assert p_adj >= p - 1e-15
        if drifted:
            assert p_adj <= 0.01 and size >= 0.1
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)


@pytest.mark.parametrize("name", sorted(TESTS))
def test_empty_windows_say_nothing(name: str) -> None:
    t = TESTS[name]()
    empty = {"*": {f: np.zeros(k, dtype=np.int64) for f, k in t.bins.items()}}
    assert t.run(empty, t.reference) == [] and t.run({}, t.reference) == []


@pytest.mark.parametrize("name", sorted(TESTS))
@pytest.mark.parametrize(("param", "value"), [("alpha", 0.0), ("alpha", 1.5),
                                              ("min_psi", -0.1)])
def test_bad_hyper_parameters_name_themselves(name: str, param: str, value: float) -> None:
    t = TESTS[name]()
    with pytest.raises(ValueError, match=param):
        t.run(_windows(t, 1), t.reference, **{param: value})
