"""The per-class adapter: a multi-class model's recall and precision per window, and the
class whose recall fell.

The outcome join counts a multi-class model's confusion matrix
(:mod:`streams.monitoring.class_confusion`); the merged window's gives each class's recall
and precision. The first ``baseline_labels`` joined labels of each (model, variant) form
its baseline matrix (as the concept-drift baseline is the first windows' error rate);
after it, each window's recall of each class is tested against the baseline's by a
one-sided two-proportion z-test, Bonferroni-corrected over the classes. The class whose
recall fell most significantly (at least ``min_drop``) pages and is named: in the alert's
labels (``class``), its evidence and its summary; the report lists every class's recall
and precision, so a window that does not fire still states them.

The baseline is held in memory: a restarted decision step learns it again from its first
windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from detectors.confusion import ConfusionCounts
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow, add_confusion


@dataclass(frozen=True)
class RecallDrops:
    """Per class: the window's recall, the baseline's, and the one-sided p-value of a fall."""

    recall: np.ndarray
    baseline: np.ndarray
    p_value: np.ndarray


def recall_drops(window: ConfusionCounts, baseline: ConfusionCounts,
                 min_rows: int = 20) -> RecallDrops:
    """Test each class's recall in ``window`` against ``baseline`` (pooled two-proportion
    z-test, one-sided: the window lower); a class with under ``min_rows`` true rows on
    either side (or none of spread) gets p = 1.

    >>> base = ConfusionCounts(3); base.counts[:] = [[90, 10, 0], [5, 95, 0], [0, 10, 90]]
    >>> now = ConfusionCounts(3); now.counts[:] = [[45, 5, 0], [3, 47, 0], [0, 30, 20]]
    >>> d = recall_drops(now, base)
    >>> d.recall.round(2).tolist(), bool(d.p_value[2] < 1e-6), bool(d.p_value[0] > 0.4)
    ([0.9, 0.94, 0.4], True, True)
    """
    k = max(window.k, baseline.k)
    hits_w, rows_w = _rows(window, k)
    hits_b, rows_b = _rows(baseline, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        rw, rb = hits_w / rows_w, hits_b / rows_b
        pooled = (hits_w + hits_b) / (rows_w + rows_b)
        se = np.sqrt(pooled * (1 - pooled) * (1 / rows_w + 1 / rows_b))
        z = np.where(se > 0, (rb - rw) / np.where(se > 0, se, 1), 0.0)
    # no spread (both recalls 0, or both 1): nothing fell
    enough = (rows_w >= min_rows) & (rows_b >= min_rows) & (se > 0)
    p = np.where(enough, norm.sf(z), 1.0)
    return RecallDrops(rw, rb, p)


def _rows(cm: ConfusionCounts, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class (``k`` of them), its right predictions and its true rows, as floats."""
    hits, rows = np.zeros(k), np.zeros(k)
    hits[:cm.k], rows[:cm.k] = np.diag(cm.counts), cm.counts.sum(axis=1)
    return hits, rows


class ClassRecall:
    """Per-class recall and precision per window; a page naming the class whose recall fell."""

    detector = "class_recall"

    def __init__(self, *, baseline_labels: int = 400, alpha: float = 0.001,
                 min_drop: float = 0.1, min_rows: int = 20) -> None:
        self.baseline_labels = baseline_labels
        self.alpha = alpha
        self.min_drop = min_drop
        self.min_rows = min_rows
        self._baselines: dict[tuple[str, str], ConfusionCounts] = {}

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        cm = win.confusion
        if cm is None or not cm.n:
            return []
        key = (win.model, win.variant)
        base = self._baselines.get(key)
        if base is None or base.n < self.baseline_labels:
            self._baselines[key] = add_confusion(base, cm.to_list())
            return []
        d = recall_drops(cm, base, self.min_rows)
        drop = np.nan_to_num(d.baseline - d.recall, nan=0.0)
        fell = (d.p_value * len(drop) < self.alpha) & (drop >= self.min_drop)
        named = int(np.argmin(np.where(fell, d.p_value, np.inf))) if fell.any() \
            else int(np.argmax(drop))
        precision = cm.precision()
        evidence: Evidence = {
            "class": str(named), "recall": _shown(d.recall[named]),
            "baseline_recall": _shown(d.baseline[named]),
            "precision": _shown(precision[named]) if named < cm.k else "-",
            "labelled": float(cm.n),
            "recalls": _listed(d.recall), "precisions": _listed(precision),
            "baseline_recalls": _listed(d.baseline)}
        report = window_report(
            self.detector, win, n=cm.n, statistic=float(drop[named]), threshold=self.min_drop,
            p_value=min(float(d.p_value[named]) * len(drop), 1.0), fired=bool(fell.any()),
            change="drift", evidence=evidence)
        return [Verdict.of(report, target={"class": str(named)} if fell.any() else {})]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return (f"class recall: class {evidence.get('class')} recall {evidence.get('recall')} "
                f"against baseline {evidence.get('baseline_recall')} (precision "
                f"{evidence.get('precision')}) on {evidence.get('labelled')} labels")


def _shown(x: float) -> float | str:
    """A share for the evidence, ``-`` for none (NaN does not survive JSON: a class never
    predicted has no precision)."""
    return "-" if np.isnan(x) else round(float(x), 4)


def _listed(values: np.ndarray) -> str:
    """Per-class values as one evidence string (``-`` for a class with none)."""
    return ",".join("-" if np.isnan(v) else f"{v:.3f}" for v in values)
