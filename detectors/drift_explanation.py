"""The explanation of a drift: which features moved, by how much, where, and against what.

Pure data in, pure data out: the monitors hand in one ``FeatureShift`` per test
(feature x segment), ``explain_drift`` corrects for the number of tests, ranks the
shifts and writes the short text an on-call engineer reads first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from detectors.base import check_choice
from detectors.multiple_testing import benjamini_hochberg


@dataclass(frozen=True)
class Window:
    """A stretch of the stream, by its bounds (timestamps or offsets) and size."""

    start: str
    """Where it begins (ISO time or offset)."""
    end: str
    """Where it ends."""
    n: int
    """How many values it holds."""


@dataclass(frozen=True)
class FeatureShift:
    """One test of one feature in one segment, reference window against current window."""

    feature: str
    """The feature tested."""
    segment: str
    """The segment (for example ``"country=DE"``), ``"all"`` for the whole traffic."""
    test: str
    """The test's name (``"ks"``, ``"psi"``, ...)."""
    statistic: float
    """The test statistic."""
    p_value: float
    """Its p-value (1.0 where the test has none and the threshold decides)."""
    effect_size: float
    """A scale-free size of the shift, used to rank (for example KS D or PSI)."""
    threshold: float
    """The level the decision used (the FDR level, or the statistic's threshold)."""
    reference: Window
    """The reference window."""
    current: Window
    """The window compared with it."""
    moved: bool = False
    """Whether the shift survived the correction for multiple tests."""
    adjusted_p_value: float = 1.0
    """The Benjamini-Hochberg adjusted p-value across all the tests explained."""


@dataclass(frozen=True)
class DriftExplanation:
    """Every shift, ranked (moved first, then by effect size), and a short summary."""

    shifts: tuple[FeatureShift, ...]
    """All the tests, ranked."""
    n_tests: int
    """How many tests were corrected for together."""
    alpha: float
    """The false discovery rate level."""
    text: str
    """The human summary."""

    @property
    def moved(self) -> tuple[FeatureShift, ...]:
        """The shifts that moved."""
        return tuple(s for s in self.shifts if s.moved)


def explain_drift(shifts: Iterable[FeatureShift], alpha: float = 0.05, top: int = 3,
                  correction: str = "bh") -> DriftExplanation:
    """Correct, rank and summarise feature shifts.

    Parameters
    ----------
    shifts
        One entry per test (feature x segment).
    alpha
        The false discovery rate (``"bh"``) or per-test level (``"none"``).
    top
        How many moved features the text names.
    correction
        ``"bh"`` (Benjamini-Hochberg over all the tests) or ``"none"``.

    Examples
    --------
    >>> ref, cur = Window("2024-05-01", "2024-05-08", 10000), Window("2024-05-09", "now", 2000)
    >>> shifts = [FeatureShift("age", "country=DE", "ks", 0.31, 1e-12, 0.31, 0.05, ref, cur),
    ...           FeatureShift("income", "country=DE", "ks", 0.02, 0.6, 0.02, 0.05, ref, cur)]
    >>> print(explain_drift(shifts).text)
    1 of 2 tests moved (BH, FDR 5%). age in country=DE: ks 0.31 (p=1e-12, adjusted 2e-12), \
reference 2024-05-01..2024-05-08 (n=10000) vs 2024-05-09..now (n=2000).
    """
    check_choice("correction", correction, ["bh", "none"])
    items = list(shifts)
    if not items:
        return DriftExplanation((), 0, alpha, "no tests to explain")
    p = np.array([s.p_value for s in items])
    rejected, adjusted = benjamini_hochberg(p, alpha) if correction == "bh" else (p <= alpha, p)
    marked = [replace(s, moved=bool(r), adjusted_p_value=float(a))
              for s, r, a in zip(items, rejected, adjusted, strict=True)]
    ranked = tuple(sorted(marked, key=lambda s: (not s.moved, -abs(s.effect_size),
                                                 s.p_value)))
    return DriftExplanation(ranked, len(items), alpha,
                            _summary(ranked, alpha, top, correction))


def _summary(ranked: tuple[FeatureShift, ...], alpha: float, top: int, correction: str) -> str:
    moved = [s for s in ranked if s.moved]
    how = f"BH, FDR {alpha:.0%}" if correction == "bh" else f"per-test level {alpha:g}"
    head = f"{len(moved)} of {len(ranked)} tests moved ({how})."
    if not moved:
        return head
    parts = [
        f"{s.feature} in {s.segment}: {s.test} {s.statistic:.3g} (p={s.p_value:.3g}, "
        f"adjusted {s.adjusted_p_value:.3g}), reference {s.reference.start}..{s.reference.end}"
        f" (n={s.reference.n}) vs {s.current.start}..{s.current.end} (n={s.current.n})"
        for s in moved[:top]
    ]
    more = f"; and {len(moved) - top} more" if len(moved) > top else ""
    return f"{head} {'; '.join(parts)}{more}."
