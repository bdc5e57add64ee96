"""Causes ranked by cost: which moved features and segments most likely cost accuracy.

A drift alert lists what moved; the feature that moved most (highest PSI) is not always
the one that costs the model: a model may ignore it. The ranking weighs each
(segment, feature) that moved by how much the model relies on the feature:

    cost = share × importance × total variation

- ``importance`` is the feature's permutation importance on the version's reference
  (:mod:`detectors.reference.importance`): how much the loss (error rate, by default)
  grows when the feature's values are scrambled, i.e. when every row gets a value that
  tells the model nothing about it;
- ``total variation`` (``½ Σ |w - r|`` over the reference bins, in [0, 1]) is the share
  of the window's mass that sits where the reference had none of it: a first-order
  estimate of the share of rows whose value is "out of place", each costing about what a
  scrambled value costs;
- ``share`` is the segment's share of the window's rows (1 for the whole window), so a
  segment's cost is in the same units as the window's: the loss the model would lose
  overall.

The product is in the loss's units (error-rate points, by default). Why this and not
PSI × importance: PSI is unbounded and dominated by near-empty bins, so a feature
that moved into a bin the reference barely had would outrank everything; total variation
is bounded and linear in the moved share, which is what the loss scales with. It is an
estimate, not a measurement: the importance is global (not per segment), and a shift
toward the region where the model is surest costs less than it says.

Where the label-free accuracy estimate (CBPE, :mod:`detectors.performance_estimate`) is
known per segment, it corrects that: a segment's first-order costs sum to a prediction
of how much accuracy the segment lost (Σ importance × total variation); the estimate
measures it, without labels. So each of the segment's costs is rescaled to the measured
drop, split among its features as before::

    cost = share × drop × importance × tv / Σ_features (importance × tv)

Two segments that moved alike then rank by the accuracy each is estimated to have lost;
one whose calibrated confidence held (the shift went where the model is still sure)
costs nothing, as long as another segment is estimated to have lost accuracy: where none
is, the estimate is blind to this shift and the first-order costs stand. ``drop`` is
the reference accuracy minus the segment's estimate (floored at 0); segments without an
estimate keep the first-order cost, in the same units.

Examples
--------
>>> ref = {"f1": np.array([50, 50]), "f2": np.array([50, 50])}
>>> win = {"*": {"f1": np.array([90, 10]), "f2": np.array([60, 40])}}
>>> [(c.feature, round(c.drift, 2), round(c.cost, 3))
...  for c in rank_causes(win, ref, {"f1": 0.0, "f2": 0.3})]
[('f2', 0.1, 0.03), ('f1', 0.4, 0.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from detectors.stats.psi import psi

__all__ = ["Cause", "describe_causes", "rank_bad_values", "rank_causes", "top_causes",
           "total_variation"]

GLOBAL = "*"


def total_variation(reference_counts: np.ndarray, counts: np.ndarray) -> float:
    """Half the L1 distance between two histograms' shares over the same bins, in [0, 1].

    >>> total_variation(np.array([50, 50]), np.array([100, 0]))
    0.5
    """
    r = np.asarray(reference_counts, dtype=float)
    w = np.asarray(counts, dtype=float)
    if r.shape != w.shape or not (r.sum() > 0 and w.sum() > 0):
        raise ValueError(f"histograms must share their bins and hold counts, got {r.tolist()} "
                         f"and {w.tolist()}")
    return float(0.5 * np.abs(w / w.sum() - r / r.sum()).sum())


@dataclass(frozen=True)
class Cause:
    """One (segment, feature) that moved, with its estimated cost."""

    feature: str
    segment: str
    #: estimated loss growth over the whole window (None: the feature's importance is unknown)
    cost: float | None
    #: the feature's permutation importance on the reference (None: unknown)
    importance: float | None
    #: total variation of the segment's histogram against the reference's
    drift: float
    psi: float
    #: the segment's share of the window's rows
    share: float
    #: what is wrong with the feature's values (a data-quality cause; None: a drift)
    problem: str | None = None


def rank_causes(windows: Mapping[str, Mapping[str, np.ndarray]],
                reference: Mapping[str, np.ndarray],
                importance: Mapping[str, float] | None,
                drops: Mapping[str, float] | None = None) -> list[Cause]:
    """Every (segment, feature) of ``windows`` (segment -> feature -> counts over the
    reference's bins) with its cost, costliest first; those of unknown importance after,
    by drift. A negative importance (shuffling helped, by chance) counts as 0.
    ``drops``: segment -> its estimated accuracy drop, where it is known (the module's
    rescaling)."""
    if drops is not None and not any(d > 0 for d in drops.values()):
        # no segment estimated to have lost anything: CBPE cannot see the errors of a
        # model sure of inputs it never saw (an out-of-range feature), so an estimate of
        # no loss anywhere clears nothing and the first-order costs stand (the demo's
        # out-of-range f2 read "+0.0 pts" for every cause)
        drops = None
    totals = {seg: _rows(feats) for seg, feats in windows.items()}
    whole = totals.get(GLOBAL) or sum(totals.values())
    causes = []
    for seg, feats in windows.items():
        share = totals[seg] / whole if whole else 0.0
        moved = []
        for feature, counts in feats.items():
            ref = reference.get(feature)
            if ref is None or np.shape(ref) != np.shape(counts) or not np.sum(counts) > 0:
                continue  # unknown to the reference, or binned on another version's bins
            tv = total_variation(ref, counts)
            imp = None if importance is None else importance.get(feature)
            cost = None if imp is None else share * max(imp, 0.0) * tv
            moved.append(Cause(feature, seg, cost, imp, tv, psi(ref, counts), share))
        drop = None if drops is None else drops.get(seg)
        causes += moved if drop is None else _rescaled(moved, share * max(drop, 0.0))
    return sorted(causes, key=lambda c: (c.cost is None, -(c.cost or 0.0), -c.drift,
                                         c.segment, c.feature))


def _rescaled(causes: list[Cause], measured: float) -> list[Cause]:
    """``causes`` of one segment with their known costs rescaled to sum to ``measured``
    (all 0 where they predicted no loss: nothing to split the drop by)."""
    predicted = sum(c.cost for c in causes if c.cost is not None)
    scale = measured / predicted if predicted > 0 else 0.0
    return [c if c.cost is None else replace(c, cost=c.cost * scale) for c in causes]


def rank_bad_values(shares: Mapping[str, float], expected: Mapping[str, float],
                    importance: Mapping[str, float] | None,
                    problems: Mapping[str, str] | None = None) -> list[Cause]:
    """Every feature with bad values (missing, out of range, unseen) beyond the reference's
    share, with its cost, costliest first: data quality's ranking.

    ``shares``: feature -> its share of bad values in the window (global: the counts are
    not kept per segment); ``expected``: the reference's share of them. A bad value is a
    value that tells the model nothing about the row (imputed, clipped or an unknown
    category), so each one beyond the reference's costs about what a scrambled value costs,
    the feature's permutation importance: ``cost = excess share × importance``, in the
    units of :func:`rank_causes`' costs. ``drift`` is the excess share.

    >>> [(c.feature, round(c.cost, 3)) for c in rank_bad_values(
    ...     {"a": 0.5, "b": 0.1}, {"a": 0.0, "b": 0.0}, {"a": 0.0, "b": 0.4})]
    [('b', 0.04), ('a', 0.0)]
    """
    causes = []
    for feature, share in shares.items():
        excess = max(share - expected.get(feature, 0.0), 0.0)
        if not excess > 0:
            continue
        imp = None if importance is None else importance.get(feature)
        cost = None if imp is None else excess * max(imp, 0.0)
        problem = (problems or {}).get(feature, "bad values")
        causes.append(Cause(feature, GLOBAL, cost, imp, excess, 0.0, 1.0, problem))
    return sorted(causes, key=lambda c: (c.cost is None, -(c.cost or 0.0), -c.drift,
                                         c.feature))


def top_causes(causes: Sequence[Cause], k: int = 3) -> list[Cause]:
    """The ``k`` costliest causes, one per feature (its costliest segment)."""
    out: list[Cause] = []
    for c in causes:
        if all(o.feature != c.feature for o in out):
            out.append(c)
    return out[:k]


def describe_causes(causes: Sequence[Cause], loss: str = "error_rate") -> str:
    """One line naming the top causes and their cost, for an alert's first lines.

    >>> describe_causes([Cause("f2", "region=eu", 0.031, 0.2, 0.5, 1.3, 0.31),
    ...                  Cause("f1", "*", None, None, 0.4, 2.0, 1.0)])
    'by estimated cost: f2 in region=eu +3.1 pts error (PSI 1.3), f1 cost unknown (PSI 2)'
    >>> describe_causes([Cause("f3", "*", 0.02, 0.1, 0.2, 0.0, 1.0, "missing")])
    'by estimated cost: f3 +2.0 pts error (missing +20.0% of inputs)'
    """
    parts = []
    for c in causes:
        where = f" in {c.segment}" if c.segment != GLOBAL else ""
        cost = ("cost unknown" if c.cost is None else f"+{100 * c.cost:.1f} pts error"
                if loss == "error_rate" else f"+{c.cost:.3g} {loss.replace('_', ' ')}")
        moved = (f"PSI {c.psi:.3g}" if c.problem is None
                 else f"{c.problem} +{c.drift:.1%} of inputs")
        parts.append(f"{c.feature}{where} {cost} ({moved})")
    return "by estimated cost: " + ", ".join(parts)


def _rows(features: Mapping[str, np.ndarray]) -> float:
    """A segment's rows: the count of its first feature's histogram."""
    return float(np.asarray(next(iter(features.values()))).sum()) if features else 0.0
