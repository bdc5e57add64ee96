"""The data-quality adapter: a merged window's counts in, a verdict out.

The monitors count, per partition, each feature's missing, non-finite and out-of-range
values and the features the reference does not know; the window merges the counts.
Here a feature's bad values are all three together, tested against the reference's share
of them (:func:`detectors.data_quality.quality_shift`); the evidence names the worst
feature, what is wrong with it, and the segment (``*``: the counts are global).
A categorical feature's bad values are its missing ones, in the same family; its values
outside the vocabulary are measured (their share is in the evidence) but page through
category drift, which names the new category and the segment it came in
(:mod:`streams.decision.category_drift`): a new category is a change in the world, a
missing input a fault of the pipeline, and this detector inhibits drift alerts while it fires.

A verdict that fires also ranks the model's inputs with bad values by their estimated cost
(:func:`detectors.cause_ranking.rank_bad_values`: the share of bad values beyond the
reference's × the feature's permutation importance; a categorical input's bad values are
its missing and unseen ones here, since an unknown category tells the model as little as a
missing one); the alert's summary names the top three (evidence ``causes``).
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.cause_ranking import describe_causes, rank_bad_values, top_causes
from detectors.data_quality import (
    CategoryQuality,
    FeatureQuality,
    category_quality,
    quality_shift,
)
from detectors.reference.categories import CategoryProfile
from detectors.reference.importance import ReferenceImportance
from detectors.reference.profile import ReferenceProfile
from streams.decision.config import DecisionConfig
from streams.decision.feature_drift import ImportanceLookup
from streams.decision.judge import ReferenceLookup
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, target_key, window_report
from streams.decision.window import GLOBAL, DecisionWindow

DATA_QUALITY = "data_quality"
#: other flagged features whose share the evidence lists beside the worst
SHOWN = 3
#: a model's category profile by model name (None: the model has no categorical input)
CategoryLookup = Callable[[str], CategoryProfile | None]


class DataQuality:
    """Missing, non-finite, out-of-range and unknown features against the reference."""

    detector = DATA_QUALITY

    def __init__(self, references: ReferenceLookup, config: DecisionConfig,
                 categories: CategoryLookup | None = None,
                 importance: ImportanceLookup | None = None) -> None:
        self.references = references
        self.config = config
        self.categories = categories
        self.importance = importance

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        profile = self.categories(win.model) if self.categories else None
        imp = self.importance(win.model) if self.importance else None
        verdict = judge_quality(win, self.references(win.model), self.config, profile, imp)
        return [] if verdict is None else [verdict]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        """The alert's one-line summary of a data-quality verdict."""
        causes = f"; {evidence['causes']}" if "causes" in evidence else ""
        return (f"data quality: {evidence.get('feature')} "
                f"{evidence.get('problem', 'bad values')} in "
                f"{float(evidence.get('share', 0.0)):.1%} of inputs (tolerated "
                f"{float(evidence.get('expected', 0.0)):.1%}){causes}")


def judge_quality(win: DecisionWindow, reference: ReferenceProfile | None,
                  config: DecisionConfig,
                  categories: CategoryProfile | None = None,
                  importance: ReferenceImportance | None = None) -> Verdict | None:
    """Judge the data quality of ``win`` against ``reference``'s bounds and shares, and
    its categorical inputs against ``categories``' unseen and missing shares; a verdict
    that fires ranks the bad inputs by ``importance`` (when the version saved one).

    None when there is nothing to judge: no reference, or no prediction checked.
    """
    if (reference is None and categories is None) or not win.checked:
        return None
    expected: dict[str, float] = {}
    bad: dict[str, int] = {}
    if reference is not None:
        *_, out_of_range, missing = reference.bounds
        expected = {n: float(out_of_range[j] + missing[j])
                    for j, n in enumerate(reference.names)}
        names = set(win.missing) | set(win.nonfinite) | set(win.out_of_range)
        bad = {n: _bad(win, n) for n in names}
        bad.update({n: c for n, c in win.unknown.items() if n not in expected})
    coded = {} if categories is None else {
        c.feature: c for c in category_quality(categories, win.categories.get(GLOBAL, {}))}
    expected.update({n: c.reference_missing for n, c in coded.items()})
    bad.update({n: c.missing for n, c in coded.items() if c.missing})
    verdict = quality_shift(win.checked, bad, expected, tolerance=config.quality_tolerance,
                            alpha=config.quality_alpha)
    worst = verdict.worst
    if worst is None:
        return None
    evidence = _evidence(win, worst, verdict.features, _parts(win, worst.feature, expected,
                                                              coded))
    evidence.update({f"unseen_share[{n}]": round(c.unseen / win.checked, 4)
                     for n, c in coded.items() if c.unseen})
    if verdict.bad and importance is not None:  # the report carries it too: the report shows it
        evidence["causes"] = ranked_bad_inputs(win, expected, coded, importance)
    report = window_report(
        DATA_QUALITY, win, n=win.checked, statistic=worst.share, threshold=worst.expected,
        p_value=worst.p_adjusted, fired=verdict.bad, change="breach", evidence=evidence)
    target = {"feature": worst.feature, "segment": GLOBAL} if verdict.bad else {}
    now: dict[str, Evidence] = {
        target_key({"feature": t.feature, "segment": GLOBAL}):
            {"share": round(t.share, 4), "expected": round(t.expected, 4)}
        for t in verdict.features}
    return Verdict.of(report, target=target, now=now)


def ranked_bad_inputs(win: DecisionWindow, expected: dict[str, float],
                      coded: dict[str, CategoryQuality], importance: ReferenceImportance) -> str:
    """The line naming the three model inputs whose bad values cost most (``expected``:
    each input's reference share of bad values; ``coded``: the categorical inputs')."""
    shares, reference, problems = {}, dict(expected), {}
    for name in expected:  # the model's inputs: a feature it does not know costs it nothing
        if name in coded:
            c = coded[name]
            shares[name] = (c.missing + c.unseen) / win.checked
            reference[name] = c.reference_missing + c.reference_unseen
            problems[name] = "unseen" if c.unseen > c.missing else "missing"
        else:
            parts = _parts(win, name, expected, coded) or {}
            shares[name] = sum(parts.values()) / win.checked
            problems[name] = max(parts, key=lambda k: parts[k])
    causes = rank_bad_values(shares, reference, dict(zip(importance.names, importance.importance,
                                                        strict=True)), problems)
    return describe_causes(top_causes(causes), importance.loss)


def _bad(win: DecisionWindow, name: str) -> int:
    return win.missing.get(name, 0) + win.nonfinite.get(name, 0) + win.out_of_range.get(name, 0)


def _parts(win: DecisionWindow, name: str, expected: dict[str, float],
           coded: dict[str, CategoryQuality]) -> dict[str, int] | None:
    """What is wrong with feature ``name``, counted by kind (None: a feature unknown to
    the model)."""
    if name in coded:
        return {"missing": coded[name].missing}
    if name not in expected:
        return None
    return {"missing": win.missing.get(name, 0), "non-finite": win.nonfinite.get(name, 0),
            "out of range": win.out_of_range.get(name, 0)}


def _evidence(win: DecisionWindow, worst: FeatureQuality, tests: tuple[FeatureQuality, ...],
              known: dict[str, int] | None) -> dict[str, float | str]:
    name = worst.feature
    if known is not None:
        parts = known
        problem = max(parts, key=lambda k: parts[k]) if any(parts.values()) else "ok"
    else:
        parts, problem = {}, "unknown to the model"
    evidence: dict[str, float | str] = {
        "feature": name, "segment": GLOBAL, "problem": problem,
        "share": round(worst.share, 4), "expected": round(worst.expected, 4),
        "p_adj": float(f"{worst.p_adjusted:.3g}"), "checked": float(win.checked)}
    for kind, count in parts.items():
        if count:
            evidence[f"{kind.replace(' ', '_').replace('-', '')}_share"] = round(
                count / win.checked, 4)
    for other in [t for t in tests if t.flagged and t.feature != name][:SHOWN]:
        evidence[f"share[{other.feature}]"] = round(other.share, 4)
    return evidence
