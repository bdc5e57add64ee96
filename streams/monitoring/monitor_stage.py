"""The monitor stage: predictions in, one mergeable summary per partition window out.

Predictions are keyed by request id, so every partition sees a share of every model.
Each partition therefore summarises locally (feature histograms over the reference's
bins, per segment too; latency sketches per part) and emits a small
:class:`~streams.wire.events.MonitorSummary` keyed by model every ``summary_size``
predictions or ``summary_interval_s`` seconds; the decision step merges and decides.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from detectors.confusion import CLASS_OUTPUT
from detectors.embedding_sample import bottom_k_index, project, sample_key
from detectors.quantile_sketch import QuantileSketch
from detectors.reference.categories import CategoryProfile
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import ReferenceProfile
from streams.kafka.stage import Output, dead_letter_outputs
from streams.monitoring.category_counts import category_counts, segment_members
from streams.monitoring.unit_sighting import UnitSighting
from streams.wire.codec import BatchDecoder, Decoded, RawRecord, Rejected, encode
from streams.wire.events import CostSums, MonitorSummary, Prediction
from streams.wire.feature_rows import feature_rows
from streams.wire.topics import Topics

ReferenceLookup = Callable[[str], "ReferenceProfile | None"]
PerformanceLookup = Callable[[str], "PerformanceReference | None"]
CategoryLookup = Callable[[str], "CategoryProfile | None"]
LATENCY_PARTS = ("queue", "inference", "total")
_UNIT_ID = attrgetter("unit_id")  # mapped in C over a window's predictions
#: most unknown feature names a summary counts (the most frequent): a producer sending
#: ever new names cannot grow a summary without bound
MAX_UNKNOWN = 16


@dataclass
class _Window:
    partition: int
    model: str
    variant: str
    opened: float
    first_offset: int
    last_offset: int = -1
    predictions: list[Prediction] = field(default_factory=list)


#: segment label -> indices of a summary's predictions in it (computed once, when asked)
_Members = Callable[[], dict[str, np.ndarray]]


class MonitorStage:
    """Summarise predictions per (partition, model, variant) window."""

    def __init__(self, *, topics: Topics, references: ReferenceLookup, summary_size: int,
                 summary_interval_s: float, max_record_bytes: int,
                 relative_accuracy: float = 0.01,
                 clock: Callable[[], float] = time.time,
                 output_references: ReferenceLookup | None = None,
                 slo_threshold_s: float = float("inf"), embedding_sample: int = 128,
                 unit_sample: float = 1.0,
                 performance_references: PerformanceLookup | None = None,
                 category_references: CategoryLookup | None = None) -> None:
        self.category_references = category_references
        self.units = UnitSighting(unit_sample)
        self.topics = topics
        self.performance_references = performance_references
        self.embedding_sample = embedding_sample
        self.slo_threshold_s = slo_threshold_s
        self.references = references
        self.output_references = output_references
        self.summary_size = summary_size
        self.summary_interval_s = summary_interval_s
        self.relative_accuracy = relative_accuracy
        self.clock = clock
        self._decoder = BatchDecoder(Prediction, max_record_bytes=max_record_bytes)
        self._windows: dict[tuple[int, str, str], _Window] = {}
        self._rejected: list[Rejected] = []

    def add(self, records: Sequence[RawRecord]) -> None:
        self.take(self._decoder.decode(records))

    def take(self, decoded: Decoded[Prediction]) -> None:
        """Add predictions already decoded (a backtest decodes each once for every stage)."""
        self._rejected.extend(decoded.rejected)
        now = self.clock()
        for pred, src in zip(decoded.events, decoded.sources, strict=True):
            key = (src.partition, pred.model, pred.variant)
            win = self._windows.get(key)
            if win is None:
                win = self._windows[key] = _Window(src.partition, pred.model, pred.variant,
                                                   now, src.offset)
            win.predictions.append(pred)
            win.last_offset = src.offset

    def wait_s(self) -> float | None:
        if not self._windows:
            return 0.0 if self._rejected else None
        oldest = min(w.opened for w in self._windows.values())
        return max(oldest + self.summary_interval_s - self.clock(), 0.0)

    def flush(self, *, force: bool) -> list[Output] | None:
        due = force or bool(self._rejected) or any(
            len(w.predictions) >= self.summary_size for w in self._windows.values())
        if not due and self.wait_s() != 0.0:
            return None
        outputs = [Output(self.topics.summaries, w.model.encode(), encode(self._summarise(w)))
                   for w in self._windows.values()]
        outputs.extend(dead_letter_outputs(self.topics.dead_letter, self._rejected))
        self._windows.clear()
        self._rejected.clear()
        return outputs

    def _summarise(self, win: _Window) -> MonitorSummary:
        preds = win.predictions
        lats = [p.latency for p in preds]
        # one pass for the latency parts: columns queue, inference, total
        parts = np.array([(t.queue_s, t.inference_s, t.total_s) for t in lats],
                         dtype=np.float64).reshape(len(preds), len(LATENCY_PARTS))
        request_ts = np.array([p.ts for p in preds]) - parts[:, 2]
        latency, slo_good = {}, 0
        ttft = [t.ttft_s for t in lats if t.ttft_s is not None]
        if ttft:
            sketch = QuantileSketch(relative_accuracy=self.relative_accuracy)
            sketch.update_many(np.array(ttft))
            latency["ttft"] = sketch.snapshot()
        for j, part in enumerate(LATENCY_PARTS):
            values = parts[:, j]
            sketch = QuantileSketch(relative_accuracy=self.relative_accuracy)
            sketch.update_many(values)
            latency[part] = sketch.snapshot()
            if part == "total":
                slo_good = int(np.count_nonzero(values <= self.slo_threshold_s))
        # one pass over the segment labels serves the histograms and the confidences
        # (both take every row, unless some lack an input or an answer)
        members = functools.cache(lambda: segment_members(preds))
        histograms, segments, quality = self._inputs(win.model, preds, members)
        quality.update(self._categories(win.model, preds))
        return MonitorSummary(
            model=win.model, variant=win.variant, partition=win.partition,
            first_offset=win.first_offset, last_offset=win.last_offset,
            window_start=float(request_ts.min()), window_end=float(request_ts.max()),
            n=len(preds), histograms=histograms, latency=latency, segments=segments,
            outputs=self._output_histograms(win.model, preds), slo_good=slo_good,
            errors=sum(1 for p in preds if p.error is not None), **self._embeddings(preds),
            unit_keys=self.units.first_seen(win.partition, win.model, win.variant,
                                            map(_UNIT_ID, preds)),
            **quality, **self._confidence(win.model, preds, members), cost=_cost_sums(preds))

    def _embeddings(self, preds: list[Prediction]) -> dict[str, Any]:
        """A bottom-k sample of the input embeddings, projected (MonitorSummary fields)."""
        rows = [p for p in preds if p.embedding is not None]
        if not rows:
            return {}
        # one dimension per summary; two mean the embedder changed mid-window: the most
        # common one is kept, and the decision step compares it with the reference
        dim = Counter(len(p.embedding or ()) for p in rows).most_common(1)[0][0]
        rows = [p for p in rows if len(p.embedding or ()) == dim]
        keys = np.array([sample_key(p.request_id) for p in rows], np.int64)
        index = bottom_k_index(keys, self.embedding_sample)
        kept = [rows[i] for i in index]
        projected = project(np.array([p.embedding for p in kept]))
        return {"embedded": len(rows), "embedding_keys": keys[index].tolist(),
                "embedding_ids": [p.request_id for p in kept],
                "embedding_dim": int(projected.shape[1]),
                "embeddings": projected.astype("<f4").tobytes()}

    def _inputs(self, model: str, preds: list[Prediction], members: _Members) -> tuple[
            dict[str, list[int]], dict[str, dict[str, list[int]]], dict[str, Any]]:
        """Feature histograms (global, per segment) of the complete rows, and the data
        quality counts of every row (MonitorSummary fields)."""
        ref = self.references(model)
        if ref is None:
            return {}, {}, {}
        X = feature_rows(ref.names, [p.features for p in preds])
        quality = _quality_counts(ref, X, preds)
        complete = np.asarray(~np.isnan(X).any(axis=1))
        if not complete.any():
            return {}, {}, quality
        rows = [p for p, ok in zip(preds, complete, strict=True) if ok]
        idx = ref.bin_indices(X[complete])
        histograms = _bincounts(ref, idx)
        by_label = members() if len(rows) == len(preds) else segment_members(rows)
        segments = {label: _bincounts(ref, idx[m]) for label, m in by_label.items()}
        return histograms, segments, quality

    def _categories(self, model: str, preds: list[Prediction]) -> dict[str, Any]:
        """Categorical counts over the model's category profile (MonitorSummary fields)."""
        profile = self.category_references(model) if self.category_references else None
        if profile is None or not profile.names:
            return {}
        return {"checked": len(preds), **category_counts(profile, preds)}

    def _confidence(self, model: str, preds: list[Prediction], members: _Members
                    ) -> dict[str, Any]:
        """The sums the accuracy estimate merges (MonitorSummary fields): per answered
        prediction, its calibrated chance of being right and that chance's variance."""
        ref = self.performance_references(model) if self.performance_references else None
        ok = [p for p in preds if p.error is None]
        if ref is None or not ok:
            return {}
        # a multiclass model's probabilities; a binary one's score is P(class 1)
        k = Counter(len(p.output.probabilities) for p in ok).most_common(1)[0][0]
        if k > 2:
            ok = [p for p in ok if len(p.output.probabilities) == k]
        probs = np.array([p.output.probabilities for p in ok]) if k > 2 else \
            np.array([p.output.score for p in ok])
        finite = np.isfinite(probs).all(axis=1) if probs.ndim == 2 else np.isfinite(probs)
        c = ref.chances(np.clip(probs[finite], 0.0, 1.0))
        rows = [p for p, keep in zip(ok, finite, strict=True) if keep]
        per_segment = {label: [float(idx.size), float(c[idx].sum()),
                               float(np.dot(c[idx], 1.0 - c[idx]))]
                       for label, idx in (members() if len(rows) == len(preds)
                                          else segment_members(rows)).items()}
        return {"estimated": int(c.size), "confidence_sum": float(c.sum()),
                "confidence_var": float(np.dot(c, 1.0 - c)), "segment_confidence": per_segment}

    def _output_histograms(self, model: str, preds: list[Prediction]) -> dict[str, list[int]]:
        ref = self.output_references(model) if self.output_references else None
        if ref is None:
            return {}
        answered = [p for p in preds if p.error is None]
        if not answered:
            return {}
        rows = np.array([p.output.score for p in answered]).reshape(-1, 1)
        if CLASS_OUTPUT in ref.names:  # a multi-class model's classes, one bin each
            labels = np.array([p.output.label for p in answered], dtype=float)
            rows = np.column_stack([labels if name == CLASS_OUTPUT else rows[:, 0]
                                    for name in ref.names])
        return _bincounts(ref, ref.bin_indices(rows))


def _cost_sums(preds: list[Prediction]) -> dict[str, CostSums]:
    """Per model version, the summed cost shares of the predictions that carry one."""
    sums: dict[str, CostSums] = {}
    for p in preds:
        if (c := p.cost) is None:
            continue
        s = sums.get(p.model_version)
        if s is None:
            s = sums[p.model_version] = CostSums(n=0, cpu_s=0.0)
        s.n += 1
        s.cpu_s += c.cpu_s
        if c.gpu_s is not None:
            s.gpu_s = (s.gpu_s or 0.0) + c.gpu_s
        if c.energy_j is not None:
            s.energy_j = (s.energy_j or 0.0) + c.energy_j
    return sums


def _quality_counts(ref: ReferenceProfile, X: np.ndarray, preds: list[Prediction]
                    ) -> dict[str, Any]:
    """Per feature, the rows missing it, non-finite, or outside the reference range; and
    the rows carrying each feature the reference does not know."""
    low, high, *_ = ref.bounds
    missing = np.isnan(X)
    nonfinite = np.isinf(X)
    outside = np.isfinite(X) & (np.less(X, low) | np.greater(X, high))
    known = set(ref.names)
    unknown: Counter[str] = Counter()
    # a row with every known feature and no more names carries no unknown one
    sizes = np.fromiter((len(p.features) for p in preds), dtype=np.int64, count=len(preds))
    suspects = np.flatnonzero(missing.any(axis=1) | (sizes != len(known)))
    for i in suspects.tolist():
        unknown.update(n for n in preds[i].features if n not in known)
    return {"checked": len(preds), "missing": _nonzero(ref.names, missing),
            "nonfinite": _nonzero(ref.names, nonfinite),
            "out_of_range": _nonzero(ref.names, outside),
            "unknown": dict(unknown.most_common(MAX_UNKNOWN))}


def _nonzero(names: Sequence[str], flags: np.ndarray) -> dict[str, int]:
    counts = flags.sum(axis=0)
    return {n: int(c) for n, c in zip(names, counts, strict=True) if c}


def _bincounts(ref: ReferenceProfile, idx: np.ndarray) -> dict[str, list[int]]:
    return {name: np.bincount(idx[:, j], minlength=len(ref.edges[j]) + 1).tolist()
            for j, name in enumerate(ref.names)}
