"""ADWIN's compiled batch loop decides every cut as the plain Python reference does.

The compiled cut test screens splits with multiplications before river's exact test
(``adwin_kernel.window_differs``); these tests aim at what could make a screen wrong:
windows whose largest gap sits right at the bound, large offsets (cancellation in
``u0 n1 - u1 n0``), tiny and zero variance, and small windows where ``dp <= 0``.
"""

from __future__ import annotations

import numpy as np
import pytest
from river import drift

from detectors.change import ADWIN, adwin_kernel


def _window(values: np.ndarray, **params: float) -> ADWIN:
    """An ADWIN holding ``values`` in its buckets, never checked (clock past the end)."""
    adwin = ADWIN(clock=10**9, **params)  # type: ignore[arg-type]
    for v in values.tolist():
        adwin.update(v)
    return adwin


def _compiled_differs(adwin: ADWIN) -> bool:
    totals, _, counts, heads = adwin._bucket_arrays()
    return bool(adwin_kernel.window_differs(
        totals, counts, heads, len(adwin._totals), adwin.width, adwin.total, adwin.variance,
        adwin.delta, float(adwin.min_window_length)))


@pytest.mark.parametrize("offset", [0.0, 1e6, -3e9])
@pytest.mark.parametrize("scale", [1.0, 1e-7, 1e4])
def test_cut_decisions_match_the_reference_near_the_bound(offset: float, scale: float) -> None:
    rng = np.random.default_rng(20261130)
    decided = {True: 0, False: 0}
    for _ in range(300):
        n = int(rng.integers(40, 3000))
        cut = int(rng.integers(10, n - 10))
        # a shift near ADWIN's bound at this cut, so decisions are close calls
        m, dp = 1.0 / cut + 1.0 / (n - cut), np.log(2.0 * np.log(n) / 0.002)
        bound = np.sqrt(2.0 * m * scale**2 * dp) + 2.0 / 3.0 * dp * m
        shift = rng.uniform(0.5, 1.5) * bound
        values = offset + scale * rng.normal(0, 1, n) + shift * (np.arange(n) >= cut)
        adwin = _window(values)
        expected = adwin._window_differs()
        assert _compiled_differs(adwin) == expected
        decided[expected] += 1
    assert decided[True] > 30 and decided[False] > 30  # both sides of the bound were met


@pytest.mark.parametrize("values", [
    np.zeros(500),  # zero variance: the screen must not drop the exact test's answer
    np.r_[np.zeros(300), np.ones(200)],  # zero variance on each side of a jump
    np.r_[np.ones(20), np.zeros(20)],  # a window so short that dp <= 0 is possible
    np.full(700, 1e300),  # sums that overflow to inf
])
def test_cut_decisions_match_the_reference_on_degenerate_windows(values: np.ndarray) -> None:
    adwin = _window(values, delta=0.9, min_window_length=1)
    assert _compiled_differs(adwin) == adwin._window_differs()


@pytest.mark.parametrize("seed", range(6))
def test_batch_alarms_equal_river_with_large_offsets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    level = np.repeat(rng.normal(0.0, 0.4, 8), 2_500)
    values = 1e6 + rng.normal(level, 1.0)
    river_adwin, hits = drift.ADWIN(), []
    for i, v in enumerate(values.tolist()):
        river_adwin.update(v)
        if river_adwin.drift_detected:
            hits.append(i)
    assert ADWIN().update_many(values).tolist() == hits
    assert hits  # the stream has changes to find
