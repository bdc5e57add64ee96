"""ADWIN's batch path as one compiled loop over the values (numba).

The loop is ``ADWIN.update`` value by value, with the same floating-point operations
in the same order (insert, merge, cut test, shrink), so its alarms and its buckets are
bit for bit those of the Python loop; the contract suite checks that on every batch.
Buckets live in fixed arrays while the batch runs: row ``i`` is a ring of the buckets
of ``2**i`` values, ``counts[i]`` of them from slot ``heads[i]`` (the oldest) on, so a
merge or a drop moves a head instead of shifting the row; ``levels`` rows are in use.
A row holds ``capacity(max_buckets)`` slots, a power of two, so wrapping is a mask.

Compiled once per machine (``cache=True`` keeps the machine code beside this file).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: size classes a batch can reach: 2**62 values, far past any window
MAX_LEVELS = 62

# scalars carried in and out of the kernel, in one float array
TICK, WIDTH, TOTAL, VARIANCE, LEVELS, FIRED = range(6)


def capacity(max_buckets: int) -> int:
    """Slots per row: the least power of two that holds ``max_buckets + 1`` buckets."""
    return 1 << max_buckets.bit_length()


#: relative slack of the screen below, far above the few ulps of rounding it must cover
_SCREEN_SLACK = 1e-9
#: bound on the relative rounding error of ``u0 * n1 - u1 * n0`` (2**-52, doubled)
_PRODUCT_ULP = 4.5e-16


@njit(cache=True, error_model="numpy")
def window_differs(totals: np.ndarray, counts: np.ndarray, heads: np.ndarray, levels: int,
                   width: float, total: float, variance: float, delta: float,
                   min_window_length: float) -> bool:  # pragma: no cover - compiled
    """Whether some split of the window has means further apart than ADWIN's bound.

    The bound at a split of ``width`` into ``n0`` older and ``n1`` newer values is
    ``eps = sqrt(2 m v dp) + 2/3 dp m`` with ``m = 1/(n0-mwl+1) + 1/(n1-mwl+1)``, and
    the split fires when ``|u0/n0 - u1/n1| > eps``. A screen of multiplications drops
    most splits before those four divisions and a square root, without changing a
    decision: ``m >= 1/n0 + 1/n1 = width/(n0 n1)`` (as ``mwl >= 1``) and ``dp > 0``,
    so ``eps >= sqrt(2 v dp width / (n0 n1))``, and a split with
    ``(u0 n1 - u1 n0)^2 <= 2 v dp width n0 n1`` cannot fire. The screen widens
    ``|u0 n1 - u1 n0|`` by a bound on its rounding error and shrinks the right side
    by ``_SCREEN_SLACK``, so only splits that miss the bound by far more than
    rounding are dropped; every other split gets river's exact test.
    """
    dp = np.log(2.0 * np.log(width) / delta)
    mean_var = variance / width
    screen = 2.0 * mean_var * dp * width * (1.0 - _SCREEN_SLACK)
    screened = dp > 0.0 and mean_var >= 0.0
    mask = totals.shape[1] - 1
    n0 = 0.0
    u0 = 0.0
    for level in range(levels - 1, -1, -1):
        size = float(1 << level)
        for k in range(counts[level]):
            n0 += size
            u0 += totals[level, (heads[level] + k) & mask]
            n1 = width - n0
            if n0 < min_window_length or n1 < min_window_length:
                continue
            u1 = total - u0
            if screened:
                spread = abs(u0 * n1 - u1 * n0) + _PRODUCT_ULP * (abs(u0) * n1 + abs(u1) * n0)
                if spread * spread <= screen * n0 * n1:
                    continue
            gap = abs(u0 / n0 - u1 / n1)
            m = 1.0 / (n0 - min_window_length + 1.0) + 1.0 / (n1 - min_window_length + 1.0)
            eps = math.sqrt(2.0 * m * mean_var * dp) + 2.0 / 3.0 * dp * m
            if gap > eps:
                return True
    return False


# One function of about 80 lines, past the 60 the project allows, on purpose: insert,
# merge and shrink share seven loop-carried scalars (tick, phase, width, total, variance,
# levels, fired) that numba keeps in registers across the loop; as separate jitted steps
# they would go in as arguments and come back as tuples once per value, which is the
# per-value cost this kernel exists to remove. The comments mark the steps instead.
@njit(cache=True, error_model="numpy")
def feed(x: np.ndarray, totals: np.ndarray, variances: np.ndarray, counts: np.ndarray,
         heads: np.ndarray, scalars: np.ndarray, delta: float, clock: int, max_buckets: int,
         min_window_length: float, grace_period: int) -> np.ndarray:  # pragma: no cover
    """Feed ``x``; return the positions that fired. State is updated in place.

    A detector that fired resets on the next value (river's convention), here too.
    """
    hits = np.empty(x.size, dtype=np.int64)
    n_hits = 0
    tick = int(scalars[TICK])
    width, total, variance = scalars[WIDTH], scalars[TOTAL], scalars[VARIANCE]
    levels = int(scalars[LEVELS])
    fired = scalars[FIRED] != 0.0
    mask = totals.shape[1] - 1
    phase = tick % clock  # tick % clock, kept by counting: a division per value is dear
    for i in range(x.size):
        if fired:
            tick, phase, width, total, variance, levels = 0, 0, 0.0, 0.0, 0.0, 1
            counts[0] = 0
            heads[0] = 0
            fired = False
        value = x[i]
        # insert, as ADWIN._insert
        slot = (heads[0] + counts[0]) & mask
        totals[0, slot] = value
        variances[0, slot] = 0.0
        counts[0] += 1
        width += 1.0
        inc = 0.0
        if width > 1.0:
            d = value - total / (width - 1.0)
            inc = (width - 1.0) * d * d / width
        variance += inc
        total += value
        level = 0  # a full row merges its two oldest buckets into one of the next row
        while counts[level] == max_buckets + 1:
            n1 = float(1 << level)
            first, second = heads[level], (heads[level] + 1) & mask
            mu1 = totals[level, first] / n1
            mu2 = totals[level, second] / n1
            if level + 1 == levels:
                levels += 1
                counts[level + 1] = 0
                heads[level + 1] = 0
            slot = (heads[level + 1] + counts[level + 1]) & mask
            totals[level + 1, slot] = totals[level, first] + totals[level, second]
            variances[level + 1, slot] = variances[level, first] + variances[level, second] + (
                n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2))
            counts[level + 1] += 1
            heads[level] = (heads[level] + 2) & mask
            counts[level] -= 2
            level += 1
        # the cut test, on every clock-th value past the grace period
        tick += 1
        phase += 1
        if phase == clock:
            phase = 0
        if phase != 0 or width <= grace_period:
            continue
        if not window_differs(totals, counts, heads, levels, width, total, variance, delta,
                              min_window_length):
            continue
        # shrink, as ADWIN._shrink: drop the oldest bucket until no split differs
        while width > 0 and window_differs(totals, counts, heads, levels, width, total,
                                           variance, delta, min_window_length):
            top = levels - 1
            n = float(1 << top)
            u = totals[top, heads[top]]
            v = variances[top, heads[top]]
            heads[top] = (heads[top] + 1) & mask
            counts[top] -= 1
            mu = u / n
            width -= n
            total -= u
            mu_window = total / width if width != 0.0 else np.nan
            variance -= v + n * width * (mu - mu_window) * (mu - mu_window) / (n + width)
            if counts[top] == 0 and top > 0:
                levels -= 1
        fired = True
        hits[n_hits] = i
        n_hits += 1
    scalars[TICK], scalars[WIDTH], scalars[TOTAL] = tick, width, total
    scalars[VARIANCE], scalars[LEVELS], scalars[FIRED] = variance, levels, 1.0 if fired else 0.0
    return hits[:n_hits]
