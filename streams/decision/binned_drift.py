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
        evidence["feature"], evidence["segment"] = feature, where(shifts, feature)
    for s in shown[:5]:
        name = f"{s.segment}/{s.shift.feature}"
        evidence[f"psi[{name}]"] = round(s.shift.psi, 4)
        evidence[f"p_adj[{name}]"] = float(f"{s.shift.p_adjusted:.3g}")
    return evidence


def where(shifts: list[SegmentShift], feature: str) -> str:
    """The segment to name: ``*`` when every value of every segment key drifted, else the
    drifted segment that moved most."""
    mine = [s for s in shifts if s.shift.feature == feature and s.segment != GLOBAL]
    hit = {s.segment for s in mine if s.shift.drifted}
    by_key: dict[str, set[str]] = {}
    for s in mine:
        by_key.setdefault(s.segment.split("=", 1)[0], set()).add(s.segment)
    if not hit or all(segs <= hit for segs in by_key.values()):
        return GLOBAL
    return next(s.segment for s in mine if s.segment in hit)  # most shifted first
