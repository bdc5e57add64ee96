"""Binned drift of a window against a reference profile: shared by the feature-drift and
prediction-drift adapters (chi-square + PSI per segment and feature, BH over the family)."""

from __future__ import annotations

import numpy as np

from detectors.feature_drift import SegmentShift, segmented_drift
from detectors.reference.profile import ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.verdict import Evidence, Verdict, target_key, window_report
from streams.decision.window import GLOBAL, DecisionWindow


def binned_verdict(detector: str, win: DecisionWindow,
                   windows: dict[str, dict[str, np.ndarray]], ref: ReferenceProfile,
                   config: DecisionConfig) -> Verdict | None:
    """The verdict on ``windows`` (segment -> feature -> counts) against ``ref``."""
    reference = dict(zip(ref.names, ref.counts, strict=True))
    shifts = segmented_drift(windows, reference, alpha=config.drift_alpha,
                             min_psi=config.drift_min_psi)
    if not shifts:
        return None
    drifted = [s for s in shifts if s.shift.drifted]
    evidence = drift_evidence(shifts)
    top = shifts[0].shift
    target = ({"feature": str(evidence["feature"]), "segment": str(evidence["segment"])}
              if drifted else {})
    report = window_report(
        detector, win, n=win.n, statistic=top.psi, threshold=config.drift_min_psi,
        p_value=top.p_adjusted, fired=bool(drifted), change="drift", evidence=evidence,
        segment=target.get("segment", GLOBAL))
    now: dict[str, Evidence] = {target_key({"feature": s.shift.feature, "segment": s.segment}):
           {"psi": round(s.shift.psi, 4), "p_adj": float(f"{s.shift.p_adjusted:.3g}")}
           for s in shifts}
    return Verdict.of(report, target=target, now=now)


def drift_evidence(shifts: list[SegmentShift]) -> Evidence:
    """The feature and segment to name, and the top shifts (drifted ones first)."""
    evidence: Evidence = {}
    shown = [s for s in shifts if s.shift.drifted] or shifts[:3]
    if shown:
        feature = shown[0].shift.feature
        evidence["feature"] = feature
        evidence["segment"] = where([(s.segment, s.shift.feature, s.shift.drifted)
                                     for s in shifts], feature)
    for s in shown[:5]:
        name = f"{s.segment}/{s.shift.feature}"
        evidence[f"psi[{name}]"] = round(s.shift.psi, 4)
        evidence[f"p_adj[{name}]"] = float(f"{s.shift.p_adjusted:.3g}")
    return evidence


def where(shifts: list[tuple[str, str, bool]], feature: str) -> str:
    """The segment to name: ``*`` when every value of every segment key drifted, else the
    drifted segment that moved most (``shifts``: (segment, feature, drifted), most
    shifted first)."""
    mine = [(seg, drifted) for seg, f, drifted in shifts if f == feature and seg != GLOBAL]
    hit = {seg for seg, drifted in mine if drifted}
    by_key: dict[str, set[str]] = {}
    for seg, _ in mine:
        by_key.setdefault(seg.split("=", 1)[0], set()).add(seg)
    if not hit or all(segs <= hit for segs in by_key.values()):
        return GLOBAL
    return next(seg for seg, _ in mine if seg in hit)  # most shifted first
