"""Input drift on binned features: each window's histogram against the reference.

Histograms over the reference's decile bins are mergeable (counts add), so partitions
summarise locally and the decision step merges. Each feature gets a chi-square
goodness-of-fit test against the reference proportions and the population stability
index (PSI) as its effect size; p-values are corrected over features with
Benjamini-Hochberg, and a feature drifts only when BH rejects it at ``alpha`` *and* its
PSI reaches ``min_psi``: big windows make tiny, harmless shifts significant, and on-call
engineers want the shifts that matter. The statistics are those of
:mod:`detectors.stats` and :mod:`detectors.multiple_testing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detectors.base import check_range
from detectors.multiple_testing import benjamini_hochberg
from detectors.stats.chi_square import chi_square_goodness_of_fit
from detectors.stats.psi import psi, shares

#: The segment that is all traffic.
GLOBAL = "*"


@dataclass(frozen=True)
class FeatureShift:
    """How one feature's window compares with its reference."""

    feature: str
    psi: float
    chi2: float
    p_value: float
    p_adjusted: float
    drifted: bool


@dataclass(frozen=True)
class BinnedDriftResult:
    """The verdict over all features of one window, most shifted first."""

    n: int
    alpha: float
    min_psi: float
    shifts: list[FeatureShift] = field(default_factory=list)

    @property
    def drifted(self) -> list[FeatureShift]:
        """The features that drifted, most shifted first."""
        return [s for s in self.shifts if s.drifted]


@dataclass(frozen=True)
class SegmentShift:
    """A feature shift within one segment (``"*"`` is all traffic)."""

    segment: str
    shift: FeatureShift


def binned_drift(window: dict[str, np.ndarray], reference: dict[str, np.ndarray], *,
                 alpha: float = 0.001, min_psi: float = 0.1) -> BinnedDriftResult:
    """Compare each feature's window histogram with its reference histogram.

    Examples
    --------
    >>> ref = {"a": np.array([100, 100, 100, 100]), "b": np.array([100, 100, 100, 100])}
    >>> win = {"a": np.array([25, 25, 25, 25]), "b": np.array([70, 20, 5, 5])}
    >>> res = binned_drift(win, ref)
    >>> [s.feature for s in res.drifted]
    ['b']
    """
    shifts = [s.shift for s in segmented_drift({GLOBAL: window}, reference, alpha=alpha,
                                               min_psi=min_psi)]
    n = int(np.sum(window[shifts[0].feature])) if shifts else 0
    return BinnedDriftResult(n, alpha, min_psi, shifts)


def segmented_drift(windows: dict[str, dict[str, np.ndarray]], reference: dict[str, np.ndarray],
                    *, alpha: float = 0.001, min_psi: float = 0.1) -> list[SegmentShift]:
    """Test every (segment, feature) window as one family, most shifted first.

    Benjamini-Hochberg runs over all segments and features together, so watching more
    segments does not raise the false-alarm rate. Segments share the reference.

    Examples
    --------
    >>> ref = {"a": np.array([100, 100, 100, 100])}
    >>> wins = {"*": {"a": np.array([40, 30, 30, 20])}, "region=eu": {"a": np.array([5, 5, 5, 45])},
    ...         "region=us": {"a": np.array([30, 30, 25, 25])}}
    >>> [(s.segment, s.shift.feature) for s in segmented_drift(wins, ref) if s.shift.drifted]
    [('region=eu', 'a')]
    """
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    check_range("min_psi", min_psi, 0.0, float("inf"))
    tested = [(seg, f, *chi_square_goodness_of_fit(np.asarray(win[f]), shares(reference[f])),
               psi(reference[f], win[f]))
              for seg, win in windows.items() for f in win
              if f in reference and np.sum(win[f]) > 0]
    if not tested:
        return []
    rejected, adjusted = benjamini_hochberg([p for _, _, _, p, _ in tested], alpha)
    out = [SegmentShift(seg, FeatureShift(f, size, chi2, p, float(adj),
                                          bool(rej and size >= min_psi)))
           for (seg, f, chi2, p, size), rej, adj in zip(tested, rejected, adjusted, strict=True)]
    out.sort(key=lambda x: x.shift.psi, reverse=True)
    return out
