"""Data quality of a window of inputs: which features go bad more often than in training.

A value is *bad* when it is missing, not finite, or outside the range the model was
trained on; a feature the reference does not know is bad wherever it appears. For each
feature, the window's count of bad values is tested against the reference's share of
them plus a ``tolerance`` (the rise that is worth a page) with a one-sided exact binomial
test, and Benjamini-Hochberg over the features holds the false discovery rate at
``alpha``. Counts are all it needs, so partitions count and the decision step merges.

A categorical feature's missing values and those outside its vocabulary are counted over
the bins of its :class:`~detectors.reference.categories.CategoryProfile`
(:func:`category_quality` reads them, with the reference's shares of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from detectors.base import check_range
from detectors.multiple_testing import benjamini_hochberg
from detectors.reference.categories import CategoryProfile

__all__ = ["CategoryQuality", "FeatureQuality", "QualityVerdict", "category_quality",
           "quality_shift"]


@dataclass(frozen=True)
class FeatureQuality:
    """The test of one feature's bad values in one window."""

    feature: str
    #: bad values (missing, non-finite or out of range; or present, for an unknown feature)
    bad: int
    #: values the window could have held (the predictions checked)
    n: int
    #: the null: the reference's bad share plus the tolerance
    expected: float
    p_value: float
    p_adjusted: float
    flagged: bool

    @property
    def share(self) -> float:
        """The window's share of bad values."""
        return self.bad / self.n if self.n else 0.0


@dataclass(frozen=True)
class QualityVerdict:
    """Every feature's test, the flagged (then the most significant) first."""

    features: tuple[FeatureQuality, ...]

    @property
    def bad(self) -> bool:
        """Whether any feature's bad share rose significantly."""
        return any(f.flagged for f in self.features)

    @property
    def worst(self) -> FeatureQuality | None:
        """The feature to name: the most significant rise."""
        return self.features[0] if self.features else None


def quality_shift(n: int, bad: Mapping[str, int], reference: Mapping[str, float], *,
                  tolerance: float = 0.02, alpha: float = 0.001) -> QualityVerdict:
    """Test each feature's bad values in a window against the reference's share.

    Parameters
    ----------
    n
        Inputs in the window (each could have had a bad value of every feature), >= 0.
    bad
        Bad values per feature in the window; features not named had none.
    reference
        The reference's share of bad values per known feature, in [0, 1]. A feature in
        ``bad`` and not here is unknown to the reference (its share there is 0).
    tolerance
        Rise of the bad share over the reference's that is tolerated, in [0, 1).
    alpha
        False discovery rate over the features (Benjamini-Hochberg), in (0, 1).

    Returns
    -------
    QualityVerdict
        Each feature's one-sided binomial test of ``H0: share <= reference + tolerance``.

    Examples
    --------
    >>> v = quality_shift(1000, {"f2": 300, "f1": 25}, {"f1": 0.002, "f2": 0.0, "f3": 0.0})
    >>> v.bad, v.worst.feature, round(v.worst.share, 3)
    (True, 'f2', 0.3)
    >>> [(f.feature, f.flagged) for f in v.features]
    [('f2', True), ('f1', False), ('f3', False)]
    >>> quality_shift(1000, {"f1": 25}, {"f1": 0.002}).bad
    False
    """
    check_range("n", n, 0, float("inf"))
    check_range("tolerance", tolerance, 0.0, 1.0, high_open=True)
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    names = sorted(set(reference) | set(bad))
    if not names or n == 0:
        return QualityVerdict(())
    counts = np.array([bad.get(f, 0) for f in names])
    if counts.min() < 0 or counts.max() > n:
        got = dict(zip(names, counts.tolist(), strict=True))
        raise ValueError(f"bad counts must be in [0, n={n}], got {got}")
    shares = np.array([reference.get(f, 0.0) for f in names], dtype=float)
    if shares.min() < 0 or shares.max() > 1:
        raise ValueError(f"reference shares must be in [0, 1], got {dict(reference)}")
    expected = np.minimum(shares + tolerance, 1.0)
    # P(X >= k) under Binomial(n, expected): sf(k - 1), as scipy.stats.binom.sf computes
    # it (bdtrc), without its ~0.3 ms of argument handling per call
    p = special.bdtrc(counts - 1, n, expected)
    rejected, adjusted = benjamini_hochberg(np.clip(p, 0.0, 1.0), alpha=alpha)
    tests = [FeatureQuality(f, int(k), n, float(e), float(pv), float(pa), bool(r))
             for f, k, e, pv, pa, r in zip(names, counts, expected, p, adjusted, rejected,
                                           strict=True)]
    tests.sort(key=lambda t: (not t.flagged, t.p_adjusted, -(t.share - t.expected), t.feature))
    return QualityVerdict(tuple(tests))


@dataclass(frozen=True)
class CategoryQuality:
    """A categorical feature's values outside its vocabulary and missing values in a
    window, and the reference's shares of each."""

    feature: str
    unseen: int
    missing: int
    reference_unseen: float
    reference_missing: float


def category_quality(profile: CategoryProfile, counts: Mapping[str, np.ndarray]
                     ) -> list[CategoryQuality]:
    """Each categorical feature's unseen and missing counts of a window (``counts``: feature
    -> counts over ``profile.bins(feature)``), with the reference's shares of both.

    A feature the window did not count (or counted over other bins) is left out.

    Examples
    --------
    >>> prof = CategoryProfile.from_columns({"plan": ["free"] * 98 + [None, "gold"]},
    ...                                     {"plan": ["free", "pro"]})
    >>> category_quality(prof, {"plan": np.array([70, 10, 15, 5])})
    [CategoryQuality(feature='plan', unseen=15, missing=5, reference_unseen=0.01, \
reference_missing=0.01)]
    """
    out = []
    for name in profile.names:
        window = counts.get(name)
        if window is None or len(window) != len(profile.counts[name]):
            continue
        share = profile.proportions(name)
        out.append(CategoryQuality(name, int(window[-2]), int(window[-1]), float(share[-2]),
                                   float(share[-1])))
    return out
