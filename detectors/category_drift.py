"""Drift of categorical inputs: each window's category counts against the reference's.

A categorical feature's counts are taken over its reference bins: the vocabulary, then
``<unseen>`` (a value outside it) and ``<missing>`` (:class:`~detectors.reference.categories.
CategoryProfile`). Counts add, so partitions count and the decision step merges. Each
(segment, feature) window gets the tests of :mod:`detectors.feature_drift` (chi-square
goodness of fit against the reference's floored shares, PSI as the effect size,
Benjamini-Hochberg over every segment and feature as one family, drifted when BH rejects
*and* the PSI reaches ``min_psi``); a reference that never saw a value outside its
vocabulary still has an unseen bin (floored), so a new category is a large, finite shift.
What this module adds is the category to name: the bin with the largest contribution
``(o - e)^2 / e`` to the chi-square statistic.

Examples
--------
>>> from detectors.reference.categories import CategoryProfile
>>> ref = CategoryProfile.from_columns({"plan": ["free"] * 600 + ["pro"] * 400},
...                                    {"plan": ["free", "pro"]})
>>> calm = ref.count_values("plan", ["free"] * 290 + ["pro"] * 210)
>>> moved = ref.count_values("plan", ["free"] * 240 + ["pro"] * 160 + ["gold"] * 100)
>>> shifts = category_drift({"*": {"plan": calm}, "region=eu": {"plan": moved}}, ref)
>>> [(s.segment, s.feature, s.category, s.drifted) for s in shifts]
[('region=eu', 'plan', '<unseen>', True), ('*', 'plan', 'pro', False)]
>>> round(shifts[0].window_share, 3), shifts[0].reference_share
(0.2, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from detectors.feature_drift import segmented_drift
from detectors.reference.categories import CategoryProfile
from detectors.stats.psi import shares

__all__ = ["CategoryShift", "category_drift", "top_category"]


@dataclass(frozen=True)
class CategoryShift:
    """How one categorical feature's window compares with its reference, in one segment.

    ``category`` is the bin that contributes most to the chi-square statistic (a
    vocabulary member, ``<unseen>`` or ``<missing>``); ``window_share`` and
    ``reference_share`` are its shares (unfloored) in the window and the reference.
    """

    segment: str
    feature: str
    category: str
    window_share: float
    reference_share: float
    psi: float
    chi2: float
    p_value: float
    p_adjusted: float
    drifted: bool


def top_category(counts: np.ndarray, reference: np.ndarray) -> int:
    """The index of the bin with the largest contribution ``(o - e)^2 / e`` to Pearson's
    statistic of ``counts`` against ``reference``'s floored shares.

    >>> top_category(np.array([50, 30, 20]), np.array([60, 40, 0]))
    2
    """
    observed = np.asarray(counts, dtype=float)
    expected = shares(reference) * observed.sum()
    return int(np.argmax((observed - expected) ** 2 / expected))


def category_drift(windows: Mapping[str, Mapping[str, np.ndarray]], profile: CategoryProfile,
                   *, alpha: float = 0.001, min_psi: float = 0.1) -> list[CategoryShift]:
    """Test every (segment, categorical feature) window against ``profile`` as one family.

    Parameters
    ----------
    windows
        Segment (``*``: all traffic) -> feature -> counts over ``profile.bins(feature)``.
        Features the profile does not know, empty windows and windows whose bins do not
        match the profile's (a summary of another vocabulary) are left out.
    profile
        The reference counts.
    alpha, min_psi
        The false discovery rate over the family, and the least PSI that is drift.

    Returns
    -------
    list of CategoryShift
        Most shifted (PSI) first.
    """
    reference = {name: profile.counts[name] for name in profile.names
                 if profile.counts[name].sum() > 0}
    usable = {seg: {f: np.asarray(c) for f, c in win.items()
                    if f in reference and len(c) == len(reference[f])}
              for seg, win in windows.items()}
    out = []
    for s in segmented_drift(usable, reference, alpha=alpha, min_psi=min_psi):
        f = s.shift.feature
        counts = usable[s.segment][f]
        top = top_category(counts, reference[f])
        out.append(CategoryShift(
            s.segment, f, profile.bins(f)[top], float(counts[top] / counts.sum()),
            float(reference[f][top] / reference[f].sum()), s.shift.psi, s.shift.chi2,
            s.shift.p_value, s.shift.p_adjusted, s.shift.drifted))
    return out
