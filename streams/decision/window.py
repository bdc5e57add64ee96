"""A model's decision window: partition summaries merged until there are enough.

Histograms add, quantile sketches merge and bottom-k samples of input embeddings
merge (the k smallest request-id hashes of the union), so the merged window is what one
process would have computed over all partitions. It snapshots to plain data, so the
decision step can save it beside its offsets and resume after a crash.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from detectors.confusion import ConfusionCounts
from detectors.embedding_sample import bottom_k_index
from detectors.quantile_sketch import QuantileSketch
from detectors.regression_error import RegressionErrors
from streams.wire.events import MonitorSummary

GLOBAL = "*"
#: most unknown feature names a window keeps (the most frequent), so that it stays bounded
MAX_UNKNOWN = 64


@dataclass
class DecisionWindow:
    """Merged summaries of one (model, variant)."""

    model: str
    variant: str
    opened: float
    n: int = 0
    window_start: float = float("inf")
    window_end: float = float("-inf")
    histograms: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    latency: dict[str, QuantileSketch] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    labelled: int = 0
    label_errors: int = 0
    embedding_cap: int = 128
    embedded: int = 0
    embedding_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    embedding_ids: list[str] = field(default_factory=list)
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    checked: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    nonfinite: dict[str, int] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    estimated: int = 0
    confidence_sum: float = 0.0
    confidence_var: float = 0.0
    #: segment label -> [estimated, confidence sum, confidence variance] (the three above)
    segment_confidence: dict[str, np.ndarray] = field(default_factory=dict)
    #: segment (``*``: all) -> categorical feature -> counts over its profile's bins
    categories: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: categorical feature -> the most frequent values outside its vocabulary
    unseen_categories: dict[str, dict[str, int]] = field(default_factory=dict)
    #: a regression's joined values and the sums of their errors (MAE, RMSE, bias)
    errors: RegressionErrors = field(default_factory=lambda: RegressionErrors())
    #: a multi-class model's joined labels: confusion counts (row: the true class)
    confusion: ConfusionCounts | None = None

    def merge(self, summary: MonitorSummary) -> None:
        """Add one partition summary."""
        self.n += summary.n
        self.labelled += summary.labelled
        self.label_errors += summary.label_errors
        if summary.n:  # join summaries (n = 0) do not stretch the window's time range
            self.window_start = min(self.window_start, summary.window_start)
            self.window_end = max(self.window_end, summary.window_end)
        _add_histograms(self.histograms.setdefault(GLOBAL, {}), summary.histograms)
        for seg, hists in summary.segments.items():
            _add_histograms(self.histograms.setdefault(seg, {}), hists)
        _add_histograms(self.outputs, summary.outputs)
        for part, raw in summary.latency.items():
            sketch = QuantileSketch.from_dict(raw)
            if part in self.latency:
                self.latency[part].merge(sketch)
            else:
                self.latency[part] = sketch
        if summary.embedding_dim:
            self._merge_embeddings(summary)
        if summary.categories:
            self._merge_categories(summary)
        self.errors.add(summary.valued, summary.abs_error_sum, summary.squared_error_sum,
                        summary.error_sum)
        if summary.confusion is not msgspec.UNSET:
            self.confusion = add_confusion(self.confusion, summary.confusion)
        self.checked += summary.checked
        self.estimated += summary.estimated
        self.confidence_sum += summary.confidence_sum
        self.confidence_var += summary.confidence_var
        for seg, sums in summary.segment_confidence.items():
            held = self.segment_confidence.get(seg)
            arr = np.asarray(sums, dtype=float)
            self.segment_confidence[seg] = arr if held is None else held + arr
        for mine, theirs in ((self.missing, summary.missing),
                             (self.nonfinite, summary.nonfinite),
                             (self.out_of_range, summary.out_of_range),
                             (self.unknown, summary.unknown)):
            for name, count in theirs.items():
                mine[name] = mine.get(name, 0) + count
        if len(self.unknown) > MAX_UNKNOWN:
            kept = sorted(self.unknown.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNKNOWN]
            self.unknown = dict(kept)

    def _merge_categories(self, summary: MonitorSummary) -> None:
        _add_histograms(self.categories.setdefault(GLOBAL, {}), summary.categories)
        for seg, counts in summary.category_segments.items():
            _add_histograms(self.categories.setdefault(seg, {}), counts)
        for name, values in summary.unseen_categories.items():
            mine = self.unseen_categories.setdefault(name, {})
            for value, count in values.items():
                mine[value] = mine.get(value, 0) + count
            if len(mine) > MAX_UNKNOWN:
                kept = sorted(mine.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNKNOWN]
                self.unseen_categories[name] = dict(kept)

    def _merge_embeddings(self, summary: MonitorSummary) -> None:
        rows = unpack_rows(summary.embeddings, summary.embedding_dim)
        keys = np.asarray(summary.embedding_keys, dtype=np.int64)
        if self.embeddings.shape[1] != rows.shape[1]:  # the embedder changed: keep the new
            self.embedding_keys, self.embeddings, self.embedding_ids = keys[:0], rows[:0], []
        self.embedded += summary.embedded
        keys = np.concatenate((self.embedding_keys, keys))
        ids = self.embedding_ids + list(summary.embedding_ids)
        kept = bottom_k_index(keys, self.embedding_cap)
        self.embedding_keys = keys[kept]
        self.embeddings = np.concatenate((self.embeddings, rows))[kept]
        self.embedding_ids = [ids[i] for i in kept] if len(ids) == len(keys) else []

    def snapshot(self) -> dict[str, Any]:
        # the categorical counts only where there are some: a window of a model with no
        # categorical input snapshots byte for byte as the previous release's did
        joined: dict[str, Any] = {} if not self.errors.n else {
            "regression": self.errors.snapshot()}
        if self.confusion is not None:
            joined["confusion"] = self.confusion.to_list()
        per_segment = {} if not self.segment_confidence else {"segment_confidence": {
            s: v.tolist() for s, v in self.segment_confidence.items()}}
        categories = {} if not self.categories else {
            "categories": {s: {f: c.tolist() for f, c in h.items()}
                           for s, h in self.categories.items()},
            "unseen_categories": self.unseen_categories}
        return {
            "model": self.model, "variant": self.variant, "opened": self.opened, "n": self.n,
            # JSON has no infinity: an empty time range (join summaries only) is null
            "window_start": _finite(self.window_start), "window_end": _finite(self.window_end),
            "histograms": {s: {f: c.tolist() for f, c in h.items()}
                           for s, h in self.histograms.items()},
            "latency": {p: s.snapshot() for p, s in self.latency.items()},
            "outputs": {f: c.tolist() for f, c in self.outputs.items()},
            "labelled": self.labelled, "label_errors": self.label_errors,
            "embedding_cap": self.embedding_cap, "embedded": self.embedded,
            "embedding_keys": self.embedding_keys.tolist(), "embedding_ids": self.embedding_ids,
            "embeddings": pack_rows(self.embeddings),
            "checked": self.checked, "missing": self.missing, "nonfinite": self.nonfinite,
            "out_of_range": self.out_of_range, "unknown": self.unknown,
            "estimated": self.estimated, "confidence_sum": self.confidence_sum,
            "confidence_var": self.confidence_var, **categories, **joined, **per_segment,
        }

    def restore(self, snap: dict[str, Any]) -> None:
        """Take :meth:`snapshot`'s output (of any window: model and variant included)."""
        self.__dict__.update(vars(DecisionWindow.from_snapshot(snap)))

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any]) -> DecisionWindow:
        """A window holding :meth:`snapshot`'s output."""
        return cls(
            model=snap["model"], variant=snap["variant"], opened=snap["opened"], n=snap["n"],
            window_start=_or(snap["window_start"], float("inf")),
            window_end=_or(snap["window_end"], float("-inf")),
            histograms={s: {f: np.asarray(c, dtype=np.int64) for f, c in h.items()}
                        for s, h in snap["histograms"].items()},
            latency={p: QuantileSketch.from_dict(d) for p, d in snap["latency"].items()},
            outputs={f: np.asarray(c, dtype=np.int64)
                     for f, c in snap.get("outputs", {}).items()},
            labelled=snap.get("labelled", 0), label_errors=snap.get("label_errors", 0),
            embedding_cap=snap.get("embedding_cap", 128), embedded=snap.get("embedded", 0),
            embedding_keys=np.asarray(snap.get("embedding_keys", []), dtype=np.int64),
            embedding_ids=list(snap.get("embedding_ids", [])),
            embeddings=unpack_packed(snap.get("embeddings")),
            checked=snap.get("checked", 0), missing=dict(snap.get("missing", {})),
            nonfinite=dict(snap.get("nonfinite", {})),
            out_of_range=dict(snap.get("out_of_range", {})),
            unknown=dict(snap.get("unknown", {})),
            estimated=snap.get("estimated", 0),
            confidence_sum=float(snap.get("confidence_sum", 0.0)),
            confidence_var=float(snap.get("confidence_var", 0.0)),
            segment_confidence={s: np.asarray(v, dtype=float)
                                for s, v in snap.get("segment_confidence", {}).items()},
            categories={s: {f: np.asarray(c, dtype=np.int64) for f, c in h.items()}
                        for s, h in snap.get("categories", {}).items()},
            unseen_categories={f: dict(v) for f, v in
                               snap.get("unseen_categories", {}).items()},
            errors=RegressionErrors.from_snapshot(snap.get("regression")),
            confusion=add_confusion(None, snap["confusion"]) if "confusion" in snap else None,
        )


def pack_rows(rows: np.ndarray) -> dict[str, Any] | None:
    """Rows of floats as JSON-friendly data: float32, little-endian, base64 (None if none)."""
    if not rows.size:
        return None
    return {"dim": int(rows.shape[1]),
            "rows": base64.b64encode(rows.astype("<f4").tobytes()).decode("ascii")}


def unpack_packed(packed: dict[str, Any] | None) -> np.ndarray:
    """The rows ``pack_rows`` packed (an empty array for None)."""
    if not packed:
        return np.zeros((0, 0))
    return unpack_rows(base64.b64decode(packed["rows"]), int(packed["dim"]))


def unpack_rows(raw: bytes, dim: int) -> np.ndarray:
    """Little-endian float32 rows of ``dim`` values as a float64 array."""
    return np.frombuffer(raw, dtype="<f4").reshape(-1, dim).astype(float)


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None


def _or(x: float | None, default: float) -> float:
    return default if x is None else float(x)


def add_confusion(mine: ConfusionCounts | None, theirs: Any) -> ConfusionCounts:
    """``mine`` plus a partition's confusion matrix (a nested list), as a new matrix.

    The larger of the two sets the classes: a partition that saw labels up to class 2
    only sends a 3 by 3 of a 4-class model.
    """
    counts = np.asarray(theirs, dtype=np.int64).reshape(len(theirs), -1)
    k = max(counts.shape[0], 2 if mine is None else mine.k)
    merged = ConfusionCounts(k)
    if mine is not None:
        merged.counts[:mine.k, :mine.k] += mine.counts
    merged.counts[:counts.shape[0], :counts.shape[1]] += counts
    return merged


def _add_histograms(into: dict[str, np.ndarray], new: dict[str, list[int]]) -> None:
    for feature, counts in new.items():
        arr = np.asarray(counts, dtype=np.int64)
        if feature in into and len(into[feature]) == len(arr):
            into[feature] = into[feature] + arr
        else:
            into[feature] = arr
