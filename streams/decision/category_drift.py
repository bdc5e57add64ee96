"""The category-drift adapter: a window's categorical counts, per segment, against the
served version's category profile.

The test is :func:`detectors.category_drift.category_drift`; here the verdict names the
feature, the segment (as feature drift names it: ``*`` when every value of every segment
key moved) and the category that moved most. When that is the ``<unseen>`` bin, the
category named is the most frequent value outside the vocabulary, so an alert says
``gold``, not only that something new came.

A drift that fires also ranks the categorical inputs (and segments) that moved by their
estimated cost, as feature drift does (:func:`detectors.cause_ranking.rank_causes` over
the profile's bins; the version's importance file measures categorical inputs too); the
alert's summary names the top three (evidence ``causes``).
"""

from __future__ import annotations

from detectors.category_drift import CategoryShift, category_drift
from detectors.cause_ranking import describe_causes, rank_causes, top_causes
from detectors.reference.categories import UNSEEN
from streams.decision.binned_drift import where
from streams.decision.config import DecisionConfig
from streams.decision.data_quality import CategoryLookup
from streams.decision.feature_drift import ImportanceLookup, estimated_drops
from streams.decision.performance_estimate import PerformanceLookup
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, target_key, window_report
from streams.decision.window import GLOBAL, DecisionWindow

#: other shifts the evidence lists beside the one named
SHOWN = 5


class CategoryDrift:
    """Categorical input drift per (segment, feature); names the category that moved."""

    detector = "category_drift"

    def __init__(self, profiles: CategoryLookup | None, config: DecisionConfig,
                 importance: ImportanceLookup | None = None,
                 performance: PerformanceLookup | None = None) -> None:
        self.profiles = profiles
        self.config = config
        self.importance = importance
        self.performance = performance

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        profile = self.profiles(win.model) if self.profiles else None
        if profile is None or not win.categories.get(GLOBAL):
            return []
        shifts = category_drift(win.categories, profile, alpha=self.config.drift_alpha,
                                min_psi=self.config.drift_min_psi)
        if not shifts:
            return []
        drifted = [s for s in shifts if s.drifted]
        feature = (drifted or shifts)[0].feature
        segment = where([(s.segment, s.feature, s.drifted) for s in shifts], feature)
        named = next((s for s in shifts if s.feature == feature and s.segment == segment),
                     (drifted or shifts)[0])
        evidence = {"feature": feature, "segment": segment, **self._moved(win, named)}
        for s in (drifted or shifts)[:SHOWN]:
            evidence[f"psi[{s.segment}/{s.feature}]"] = round(s.psi, 4)
            evidence[f"p_adj[{s.segment}/{s.feature}]"] = float(f"{s.p_adjusted:.3g}")
        imp = self.importance(win.model) if drifted and self.importance else None
        if imp is not None:  # the report carries it too: the report shows it
            perf = self.performance(win.model) if self.performance else None
            evidence["causes"] = describe_causes(top_causes(rank_causes(
                win.categories, profile.counts, dict(zip(imp.names, imp.importance, strict=True)),
                estimated_drops(win, perf, imp.loss))), imp.loss)
        report = window_report(
            self.detector, win, n=win.n, statistic=named.psi,
            threshold=self.config.drift_min_psi, p_value=named.p_adjusted,
            fired=bool(drifted), change="drift", evidence=evidence,
            segment=segment if drifted else GLOBAL)
        target = {"feature": feature, "segment": segment} if drifted else {}
        now: dict[str, Evidence] = {
            target_key({"feature": s.feature, "segment": s.segment}):
                {**self._moved(win, s), "p_adj": float(f"{s.p_adjusted:.3g}")}
            for s in shifts}
        return [Verdict.of(report, target=target, now=now)]

    @staticmethod
    def _moved(win: DecisionWindow, shift: CategoryShift) -> Evidence:
        """The category that moved most in ``shift``, its shares and the PSI."""
        category = shift.category
        if category == UNSEEN and (new := win.unseen_categories.get(shift.feature)):
            category = max(new, key=lambda v: (new[v], v))
        return {"category": category, "bin": shift.category,
                "share": round(shift.window_share, 4),
                "expected": round(shift.reference_share, 4), "psi": round(shift.psi, 4)}

    @staticmethod
    def describe(evidence: Evidence) -> str:
        """The alert's one-line summary: the feature, the category and the segment."""
        new = " (new)" if evidence.get("bin") == UNSEEN else ""
        causes = f"; {evidence['causes']}" if "causes" in evidence else ""
        return (f"category drift in {evidence.get('feature')}: {evidence.get('category')!s}"
                f"{new} in {float(evidence.get('share', 0.0)):.1%} of inputs (reference "
                f"{float(evidence.get('expected', 0.0)):.1%}), segment "
                f"{evidence.get('segment')}{causes}")
