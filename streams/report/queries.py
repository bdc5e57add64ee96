"""The figures the report draws, read from ClickHouse (and the reference profiles).

One function per view; each returns small dataclasses the page turns into charts. The
reference histogram of a drifted feature is the model's reference profile (the same
decile bins and counts the drift detector tests against), read from the model store;
the current histogram counts the flagged window's stored predictions over those bins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.reference.profile import ReferenceProfile
from streams.decision.category_drift import CategoryDrift
from streams.decision.data_quality import DATA_QUALITY
from streams.decision.embedding_drift import EmbeddingDrift
from streams.decision.feature_drift import FeatureDrift
from streams.decision.latency import LatencyQuantile
from streams.decision.slo_tracker import SLO_BURN
from streams.report.svg_chart import Mark
from streams.storage.clickhouse_store import ClickHouseStore

DRIFT, EMBEDDING, LATENCY = (FeatureDrift.detector, EmbeddingDrift.detector,
                             LatencyQuantile.detector)
CATEGORY, QUALITY = CategoryDrift.detector, DATA_QUALITY
#: the detectors whose flagged windows rank their causes by estimated cost
RANKED = (DRIFT, CATEGORY, QUALITY)

#: (model, version) -> the reference profile the drift detector used, or None
ProfileLookup = Callable[[str, str], ReferenceProfile | None]

#: time steps a latency timeline may use; the smallest giving at most 60 points wins
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


@dataclass
class DriftView:
    """A flagged (model, variant, feature, segment): its PSI per window and histograms."""

    model: str
    variant: str
    feature: str
    segment: str
    threshold: float
    psi: list[tuple[float, float]] = field(default_factory=list)  # (window end, psi)
    top_psi: list[tuple[float, float]] = field(default_factory=list)  # window's largest
    marks: list[Mark] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)  # the last flagged window
    bins: list[str] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)  # % of reference rows per bin
    current: list[float] = field(default_factory=list)  # % of the window's rows per bin
    n_current: int = 0
    version: str = ""


@dataclass
class CategoryView:
    """A flagged (model, variant, categorical feature, segment) and the category that moved
    most in its last flagged window: its share there and in the reference."""

    model: str
    variant: str
    feature: str
    segment: str
    category: str
    new: bool
    share: float
    expected: float
    psi: float


@dataclass
class LatencyView:
    """Latency quantiles over time of one (model, variant), its thresholds and budget."""

    model: str
    variant: str
    step_s: int
    points: list[tuple[float, float, float, float]]  # (t, p50, p99, p99.9) in seconds
    alert_threshold_s: float | None
    budget: list[tuple[float, float]]  # (ts, error budget remaining, fraction)
    marks: list[Mark]


@dataclass
class EmbeddingView:
    """The novel share per window of an embedding-monitored (model, variant)."""

    model: str
    variant: str
    novel: list[tuple[float, float]]
    marks: list[Mark]


@dataclass
class Incident:
    """One alert fingerprint's life: when it fired and when (if) it resolved."""

    fingerprint: str
    model: str
    detector: str
    segment: str
    severity: str
    summary: str
    starts_at: float
    ends_at: float | None


def category_views(store: ClickHouseStore) -> list[CategoryView]:
    """Every (model, variant, feature, segment) a category-drift window flagged, with the
    category its last flagged window named."""
    rows = store.query(
        "SELECT model, variant, JSONExtractString(evidence, 'feature') AS feature, segment, "
        "argMax(evidence, ts), max(statistic) FROM detector_reports WHERE detector = "
        "'category_drift' AND decision != 'ok' GROUP BY model, variant, feature, segment "
        "ORDER BY model, variant, feature, segment")
    views = []
    for model, variant, feature, segment, evidence, psi in rows:
        ev = _json(evidence)
        views.append(CategoryView(
            model, variant, feature, segment, str(ev.get("category", "")),
            ev.get("bin") == "<unseen>", float(ev.get("share", 0.0) or 0.0),
            float(ev.get("expected", 0.0) or 0.0), float(psi)))
    return views


def drift_views(store: ClickHouseStore, profiles: ProfileLookup) -> list[DriftView]:
    """Every (model, variant, feature, segment) a feature-drift window flagged."""
    flagged = store.query(
        "SELECT model, variant, JSONExtractString(evidence, 'feature') AS feature, segment, "
        "argMax(window_start, ts), argMax(window_end, ts), any(threshold) FROM detector_reports "
        "WHERE detector = %(d)s AND decision != 'ok' GROUP BY model, variant, feature, segment "
        "ORDER BY model, variant, feature, segment", {"d": DRIFT})
    views = []
    for model, variant, feature, segment, w0, w1, threshold in flagged:
        view = DriftView(model, variant, feature, segment, float(threshold), window=(w0, w1))
        for ts, top, evidence in store.query(
                "SELECT window_end, statistic, evidence FROM detector_reports WHERE "
                "detector = %(d)s AND model = %(m)s AND variant = %(v)s ORDER BY ts",
                {"d": DRIFT, "m": model, "v": variant}):
            view.top_psi.append((ts, top))
            psi = _json(evidence).get(f"psi[{segment}/{feature}]")
            if isinstance(psi, int | float):
                view.psi.append((ts, float(psi)))
        view.marks = alert_marks(store, model, variant, (DRIFT,), segment=segment)
        _histograms(store, view, profiles)
        views.append(view)
    return views


def _histograms(store: ClickHouseStore, view: DriftView, profiles: ProfileLookup) -> None:
    where, params = _segment_filter(view.segment)
    rows = store.query(
        "SELECT features[%(f)s], model_version FROM predictions WHERE model = %(m)s AND "
        "variant = %(v)s AND ts >= %(w0)s AND ts <= %(w1)s AND mapContains(features, %(f)s)"
        + where, {"f": view.feature, "m": view.model, "v": view.variant,
                  "w0": view.window[0], "w1": view.window[1], **params})
    if not rows:
        return
    versions = [r[1] for r in rows]
    view.version = max(set(versions), key=versions.count)
    profile = profiles(view.model, view.version)
    if profile is None or view.feature not in profile.names:
        return
    i = profile.names.index(view.feature)
    edges = profile.edges[i]
    values = np.array([r[0] for r in rows], dtype=float)
    counts = np.histogram(values, bins=[-np.inf, *edges, np.inf])[0]
    view.n_current = len(values)
    view.current = (counts / counts.sum() * 100).tolist()
    view.reference = (profile.counts[i] / profile.counts[i].sum() * 100).tolist()
    view.bins = [f"<{e:.2g}" for e in edges] + [f"≥{edges[-1]:.2g}" if len(edges) else "all"]


def _segment_filter(segment: str) -> tuple[str, dict[str, str]]:
    if segment in ("*", "") or "=" not in segment:
        return "", {}
    key, value = segment.split("=", 1)
    return " AND segment[%(sk)s] = %(sv)s", {"sk": key, "sv": value}


def cause_rankings(store: ClickHouseStore, detector: str = DRIFT
                   ) -> list[tuple[str, str, float, str]]:
    """Per (model, variant), the latest flagged window of ``detector`` (one of
    :data:`RANKED`) with its causes ranked by estimated cost (model, variant, window end,
    the ranking's line)."""
    return [(m, v, float(ts), str(line)) for m, v, ts, line in store.query(
        "SELECT model, variant, max(window_end), argMax(JSONExtractString(evidence, "
        "'causes'), window_end) FROM detector_reports WHERE detector = %(d)s AND "
        "decision != 'ok' AND JSONHas(evidence, 'causes') GROUP BY model, variant "
        "ORDER BY model, variant", {"d": detector})]


def latency_views(store: ClickHouseStore) -> list[LatencyView]:
    """p50, p99 and p99.9 of total latency per time step, per (model, variant)."""
    views = []
    for model, variant, lo, hi in store.query(
            "SELECT model, variant, min(ts), max(ts) FROM predictions GROUP BY model, variant "
            "ORDER BY model, variant"):
        step = next((s for s in _STEPS if (hi - lo) / s <= 60), _STEPS[-1])
        points = [(float(t), float(q[0]), float(q[1]), float(q[2])) for t, q in store.query(
            "SELECT intDiv(toUInt64(ts), %(s)s) * %(s)s AS t, "
            "quantilesExactInclusive(0.5, 0.99, 0.999)(total_s) FROM predictions "
            "WHERE model = %(m)s AND variant = %(v)s GROUP BY t ORDER BY t",
            {"s": step, "m": model, "v": variant})]
        threshold = store.query(
            "SELECT any(threshold) FROM detector_reports WHERE detector = %(d)s AND "
            "model = %(m)s AND variant = %(v)s HAVING count() > 0",
            {"d": LATENCY, "m": model, "v": variant})
        budget = [(float(ts), float(b)) for ts, b in store.query(
            "SELECT ts, JSONExtractFloat(evidence, 'budget_remaining') FROM detector_reports "
            "WHERE detector = %(d)s AND model = %(m)s AND variant = %(v)s "
            "AND JSONHas(evidence, 'budget_remaining') ORDER BY ts",
            {"d": SLO_BURN, "m": model, "v": variant})]
        views.append(LatencyView(
            model, variant, step, points, float(threshold[0][0]) if threshold else None, budget,
            alert_marks(store, model, variant, (LATENCY, SLO_BURN))))
    return views


def embedding_views(store: ClickHouseStore) -> list[EmbeddingView]:
    """The share of inputs unlike the reference, per window, per embedding-monitored model."""
    rows = store.query(
        "SELECT model, variant, window_end, JSONExtractFloat(evidence, 'novel_share') "
        "FROM detector_reports WHERE detector = %(d)s AND JSONHas(evidence, 'novel_share') "
        "ORDER BY model, variant, ts", {"d": EMBEDDING})
    views: dict[tuple[str, str], EmbeddingView] = {}
    for model, variant, ts, share in rows:
        if (model, variant) not in views:
            views[model, variant] = EmbeddingView(
                model, variant, [], alert_marks(store, model, variant, (EMBEDDING,)))
        views[model, variant].novel.append((float(ts), float(share)))
    return list(views.values())


def incidents(store: ClickHouseStore) -> list[Incident]:
    """Every alert episode: a firing, and its resolve if one came (a re-fire is another)."""
    out: list[Incident] = []
    open_: dict[str, Incident] = {}
    for fp, status, model, detector, labels, severity, summary, start, end in store.query(
            "SELECT fingerprint, status, model, detector, labels, severity, summary, "
            "starts_at, ends_at FROM alerts ORDER BY starts_at, status = 'resolved', "
            "fingerprint"):
        if status == "firing" and fp not in open_:
            open_[fp] = Incident(fp, model, detector, labels.get("segment", ""), severity,
                                 summary, float(start), None)
            out.append(open_[fp])
        elif status == "resolved" and fp in open_:
            open_.pop(fp).ends_at = float(end if end is not None else start)
    return out


def retrain_requests(store: ClickHouseStore) -> list[tuple[float, str, str, str]]:
    """(requested at, model, reason, id) of every retrain request."""
    return [(float(t), m, r, i) for t, m, r, i in store.query(
        "SELECT requested_at, model, reason, id FROM retrain_events ORDER BY requested_at")]


def alert_marks(store: ClickHouseStore, model: str, variant: str, detectors: tuple[str, ...],
                *, segment: str | None = None) -> list[Mark]:
    """Firing and resolved moments of the alerts of ``detectors`` on (model, variant)."""
    marks = []
    for status, start, end, summary, labels in store.query(
            "SELECT status, starts_at, ends_at, summary, labels FROM alerts WHERE "
            "model = %(m)s AND detector IN %(d)s ORDER BY starts_at, status",
            {"m": model, "d": detectors}):
        if labels.get("variant", variant) != variant:
            continue
        if segment is not None and labels.get("segment", segment) != segment:
            continue
        at = start if status == "firing" or end is None else end
        marks.append(Mark(float(at), status, f"{status}: {summary}"))
    return marks


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
