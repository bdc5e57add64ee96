"""Input drift on binned features: each window's histogram against the reference.

Histograms over the reference's decile bins are mergeable (counts add), so partitions
summarise locally and the decision step merges. Each feature gets a chi-square
goodness-of-fit test against the reference proportions and the population stability
index (PSI) as its effect size; p-values are corrected over features with
Benjamini-Hochberg, and a feature drifts only when its adjusted p-value is under
``alpha`` *and* its PSI reaches ``min_psi``: big windows make tiny, harmless shifts
significant, and on-call engineers want the shifts that matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from detectors.base import check_range

#: Floor on bin proportions, so an empty bin does not make PSI or chi-square infinite.
_EPS = 1e-4


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

    @property
    def drift_detected(self) -> bool:
        return bool(self.drifted)

    @property
    def statistic(self) -> float:
        """The largest PSI over features (0 when there are none)."""
        return max((s.psi for s in self.shifts), default=0.0)


def psi(window_counts: np.ndarray, reference_counts: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins.

    >>> round(psi(np.array([50, 50]), np.array([50, 50])), 12)
    0.0
    >>> round(psi(np.array([90, 10]), np.array([50, 50])), 4)
    0.8789
    """
    w = _proportions(window_counts)
    r = _proportions(reference_counts)
    return float(np.sum((w - r) * np.log(w / r)))


def chi_square(window_counts: np.ndarray, reference_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square goodness of fit of window counts to the reference proportions.

    Returns the statistic and its p-value (``k - 1`` degrees of freedom), the same as
    ``scipy.stats.chisquare(window, n * reference_proportions)``.
    """
    obs = np.asarray(window_counts, dtype=float)
    n = obs.sum()
    expected = n * _proportions(reference_counts)
    stat = float(np.sum((obs - expected) ** 2 / expected))
    return stat, float(stats.chi2.sf(stat, len(obs) - 1))


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
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    check_range("min_psi", min_psi, 0.0, float("inf"))
    names = [f for f in window if f in reference and np.sum(window[f]) > 0]
    if not names:
        return BinnedDriftResult(0, alpha, min_psi)
    chis, pvals, psis = [], [], []
    for f in names:
        stat, p = chi_square(window[f], reference[f])
        chis.append(stat)
        pvals.append(p)
        psis.append(psi(window[f], reference[f]))
    adjusted = stats.false_discovery_control(np.array(pvals), method="bh")
    shifts = [
        FeatureShift(f, psis[i], chis[i], pvals[i], float(adjusted[i]),
                     bool(adjusted[i] < alpha and psis[i] >= min_psi))
        for i, f in enumerate(names)
    ]
    shifts.sort(key=lambda s: s.psi, reverse=True)
    n = int(np.sum(window[names[0]]))
    return BinnedDriftResult(n, alpha, min_psi, shifts)


def _proportions(counts: np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    total = c.sum()
    if total <= 0:
        raise ValueError("a histogram needs at least one count")
    p = np.maximum(c / total, _EPS)
    return p / p.sum()


@dataclass(frozen=True)
class SegmentShift:
    """A feature shift within one segment (``"*"`` is all traffic)."""

    segment: str
    shift: FeatureShift


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
    results = [(seg, binned_drift(win, reference, alpha=alpha, min_psi=min_psi))
               for seg, win in windows.items()]
    flat = [(seg, s) for seg, res in results for s in res.shifts]
    if not flat:
        return []
    adjusted = stats.false_discovery_control(np.array([s.p_value for _, s in flat]), method="bh")
    out = [
        SegmentShift(seg, FeatureShift(s.feature, s.psi, s.chi2, s.p_value, float(adj),
                                       bool(adj < alpha and s.psi >= min_psi)))
        for (seg, s), adj in zip(flat, adjusted, strict=True)
    ]
    out.sort(key=lambda x: x.shift.psi, reverse=True)
    return out
