"""ADWIN's exponential buckets in bulk: merge levels, layout after n values, cut test.

Between two resets, ADWIN's buckets after ``n`` values depend on ``n`` alone: size
class ``i`` (buckets of ``2**i`` values) receives ``e_i`` buckets, fills to
``max_buckets + 1`` and merges its two oldest into class ``i + 1``. So class ``i``
has merged ``m_i = max(0, ceil((e_i - max_buckets) / 2))`` pairs, holds
``c_i = e_i - 2 m_i`` buckets (the ones numbered ``2 m_i .. e_i - 1`` since the reset)
and passes ``e_{i+1} = m_i`` on. Bucket ``j`` of class ``i + 1`` is the merge of
buckets ``2j`` and ``2j + 1`` of class ``i``, whatever the moment of the merge.
"""

from __future__ import annotations

import numpy as np


def layout(n: np.ndarray, max_buckets: int, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Merged pairs ``m`` and held buckets ``c`` per size class after ``n`` values.

    Parameters
    ----------
    n
        Numbers of values since the reset, one per row.
    max_buckets
        ADWIN's ``max_buckets``.
    n_levels
        The number of size classes to report.

    Returns
    -------
    tuple of numpy.ndarray
        ``m`` and ``c``, each of shape ``(n_levels, len(n))``.

    Examples
    --------
    >>> m, c = layout(np.array([5, 6, 7, 8]), max_buckets=5, n_levels=2)
    >>> c.tolist()
    [[5, 4, 5, 4], [0, 1, 1, 2]]
    """
    e = np.asarray(n, dtype=np.int64)
    m = np.empty((n_levels, e.size), dtype=np.int64)
    c = np.empty_like(m)
    for i in range(n_levels):
        m[i] = np.maximum(0, (e - max_buckets + 1) // 2)
        c[i] = e - 2 * m[i]
        e = m[i]
    return m, c


def grow_pyramid(
    totals: list[list[float]], variances: list[list[float]], x: np.ndarray, n: int,
    max_buckets: int,
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Every bucket that held or future merges can form, per size class.

    Parameters
    ----------
    totals, variances
        The buckets held after ``n`` values, per size class, oldest first.
    x
        The next values.
    n
        The number of values since the reset.
    max_buckets
        ADWIN's ``max_buckets``.

    Returns
    -------
    tuple
        Per size class: the bucket totals and variances, and the number (since the
        reset) of the first one; merges use river's arithmetic, so each bucket is
        bit for bit the one the loop of updates would build.
    """
    level_t = np.concatenate((np.asarray(totals[0], dtype=float), x))
    level_v = np.concatenate((np.asarray(variances[0], dtype=float), np.zeros(x.size)))
    out_t, out_v, bases = [], [], []
    e, i = n, 0
    while True:
        m = max(0, (e - max_buckets + 1) // 2)
        bases.append(2 * m)
        out_t.append(level_t)
        out_v.append(level_v)
        e = m
        held_t = totals[i + 1] if i + 1 < len(totals) else []
        held_v = variances[i + 1] if i + 1 < len(variances) else []
        k = level_t.size // 2
        if k == 0 and not held_t:
            return out_t, out_v, bases
        n1 = float(2**i)
        t0, t1 = level_t[0: 2 * k: 2], level_t[1: 2 * k: 2]
        mu1, mu2 = t0 / n1, t1 / n1
        merged_v = level_v[0: 2 * k: 2] + level_v[1: 2 * k: 2] + n1 * 0.5 * (mu1 - mu2) * (
            mu1 - mu2)
        level_t = np.concatenate((np.asarray(held_t, dtype=float), t0 + t1))
        level_v = np.concatenate((np.asarray(held_v, dtype=float), merged_v))
        i += 1


def any_cut(
    totals: np.ndarray, sizes: np.ndarray, width: np.ndarray, total: np.ndarray,
    variance: np.ndarray, delta: float, min_window_length: int,
) -> np.ndarray:
    """Whether some split of each window has means further apart than ADWIN's bound.

    Parameters
    ----------
    totals, sizes
        Bucket totals and sizes, one window per row, oldest first; a size of 0 marks
        an empty slot.
    width, total, variance
        Each window's length, sum, and sum of squared deviations.
    delta
        ADWIN's significance.
    min_window_length
        The least size of either part of a tested split.

    Returns
    -------
    numpy.ndarray
        One bool per row.
    """
    n0 = np.cumsum(sizes, axis=1)
    u0 = np.cumsum(totals, axis=1)
    w = width[:, None]
    n1 = w - n0
    mwl = float(min_window_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(u0 / n0 - (total[:, None] - u0) / n1)
        dp = np.log(2.0 * np.log(w) / delta)
        m = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
        eps = np.sqrt(2.0 * m * (variance / width)[:, None] * dp) + 2.0 / 3.0 * dp * m
        cut = (sizes > 0) & (n0 >= mwl) & (n1 >= mwl) & (gap > eps)
    return cut.any(axis=1)
