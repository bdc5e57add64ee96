"""A seeded incident, stored through the project's own code, for the report's tests.

Events are built as the workers build them (the drift evidence by the decision step's
own function over the detector's real PSI and chi-square), encoded to the wire, turned
into rows by the sink's ``RowMapper`` and inserted with ``ClickHouseStore`` into a chDB
path. The story: ``churn``'s input ``f2`` drifts in segment ``region=eu`` from window 8
to window 17; the outside model ``ranker`` slows down in windows 10-14; the LLM
``assistant`` gets a new topic of prompts from window 16; a retrain is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detectors.feature_drift import segmented_drift
from detectors.fingerprint import fingerprint
from detectors.reference.profile import ReferenceProfile
from streams.decision.binned_drift import drift_evidence as _drift_evidence
from streams.decision.slo_tracker import SLO_BURN
from streams.report.html import model_store_profiles
from streams.report.queries import DRIFT, EMBEDDING, LATENCY, ProfileLookup
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import (
    Alert,
    DetectorReport,
    Event,
    Latency,
    ModelOutput,
    Prediction,
    RetrainRequested,
)
from streams.wire.topics import Topics

T0 = 1_764_000_000.0
WINDOW_S = 10.0
WINDOWS = 24
FEATURES = ("f0", "f1", "f2", "f3")
DRIFT_WINDOWS = range(8, 18)
SLOW_WINDOWS = range(10, 15)
NOVEL_FROM = 16
THRESHOLD_S = 0.25
MIN_PSI = 0.1


@dataclass
class Scenario:
    """What was stored, for tests to check the report against."""

    model_dir: Path
    profile: ReferenceProfile
    latencies: dict[int, np.ndarray] = field(default_factory=dict)  # ranker, per window
    latency_ts: dict[int, np.ndarray] = field(default_factory=dict)  # and their times
    f2_eu: dict[int, np.ndarray] = field(default_factory=dict)  # churn's f2 in region=eu
    psi: dict[int, float] = field(default_factory=dict)  # PSI of region=eu/f2 per window


def profiles(model_dir: Path) -> ProfileLookup:
    """The report's profile lookup over the scenario's model store folder."""
    return model_store_profiles(model_dir)


def store_scenario(store: ClickHouseStore, model_dir: Path, *, seed: int = 7,
                   segment_value: str = "eu", feature: str = "f2") -> Scenario:
    """Write the incident's events to ``store``; the reference profile to ``model_dir``."""
    rng = np.random.default_rng(seed)
    names = [*FEATURES[:2], feature, FEATURES[3]]
    profile = ReferenceProfile.from_features("churn", "v1", names,
                                             rng.normal(size=(20_000, len(names))))
    (model_dir / "churn" / "v1").mkdir(parents=True, exist_ok=True)
    profile.save(model_dir / "churn" / "v1" / "reference.json")
    sc = Scenario(model_dir, profile)
    seg = f"region={segment_value}"
    events: dict[str, list[Event]] = {"predictions": [], "detector-reports": [], "alerts": [],
                                      "retrain": []}
    preds, reports = events["predictions"], events["detector-reports"]
    for w in range(WINDOWS):
        start, end = T0 + w * WINDOW_S, T0 + (w + 1) * WINDOW_S
        _churn_window(sc, w, rng, names, segment_value, feature, preds, reports)
        _ranker_window(sc, w, rng, preds, reports)
        novel = 0.01 + (0.3 if w >= NOVEL_FROM else 0.0)
        reports.append(DetectorReport(
            detector=EMBEDDING, model="assistant", variant="A", segment="*", window_start=start,
            window_end=end, n=200, statistic=novel, threshold=0.0, ts=end,
            decision="drift" if w >= NOVEL_FROM else "ok", evidence={"novel_share": novel}))
    events["alerts"] = [
        *_episode("churn", DRIFT, seg, f"churn/A input drift in {feature} (segment {seg})",
                  T0 + 10 * WINDOW_S, T0 + 19 * WINDOW_S),
        *_episode("ranker", LATENCY, "*", "ranker/A latency p99 over 0.250s",
                  T0 + 12 * WINDOW_S, T0 + 16 * WINDOW_S),
        *_episode("assistant", EMBEDDING, "*", "assistant/A input embedding drift",
                  T0 + 18 * WINDOW_S, None)]
    events["retrain"] = [RetrainRequested(
        id="rt-1", model="churn", reason="input drift sustained for 3 windows",
        evidence={"feature": feature}, data_from=T0 + 8 * WINDOW_S, data_to=T0 + 11 * WINDOW_S,
        requested_at=T0 + 11 * WINDOW_S)]
    _insert(store, events)
    return sc


def _churn_window(sc: Scenario, w: int, rng: np.random.Generator, names: list[str],
                  segment_value: str, feature: str, preds: list[Event],
                  reports: list[Event]) -> None:
    """Window ``w`` of churn: 400 predictions (``feature`` moved in the segment during the
    drift windows) and the drift report judged on them."""
    start, end = T0 + w * WINDOW_S, T0 + (w + 1) * WINDOW_S
    profile, seg = sc.profile, f"region={segment_value}"
    ref = {n: profile.counts[i] for i, n in enumerate(names)}
    regions = rng.choice([segment_value, "us"], size=400)
    X = rng.normal(size=(400, len(names)))
    moved = regions == segment_value
    if w in DRIFT_WINDOWS:
        X[moved, 2] += 2.0
    ts = np.sort(rng.uniform(start, end, 400))
    for i in range(400):
        row = dict(zip(names, X[i], strict=True))
        preds.append(_prediction(f"c{w}-{i}", ts[i], "churn", row,
                                 {"region": str(regions[i])}, 0.004))
    sc.f2_eu[w] = X[moved, 2]
    bins = profile.bin_indices(X)
    hist = {"*": _hist(bins, names, profile)}
    for r in (segment_value, "us"):
        hist[f"region={r}"] = _hist(bins[regions == r], names, profile)
    shifts = segmented_drift(hist, ref, alpha=0.001, min_psi=MIN_PSI)
    sc.psi[w] = next(s.shift.psi for s in shifts
                     if s.segment == seg and s.shift.feature == feature)
    drifted = [s for s in shifts if s.shift.drifted]
    reports.append(DetectorReport(
        detector=DRIFT, model="churn", variant="A", segment=seg if drifted else "*",
        window_start=start, window_end=end, n=400, statistic=shifts[0].shift.psi,
        threshold=MIN_PSI, p_value=shifts[0].shift.p_adjusted,
        decision="drift" if drifted else "ok", evidence=_drift_evidence(shifts), ts=end))


def _ranker_window(sc: Scenario, w: int, rng: np.random.Generator, preds: list[Event],
                   reports: list[Event]) -> None:
    """Window ``w`` of ranker: 300 predictions (eight times slower in the slow windows),
    their latency report and the latency SLO's budget."""
    start, end = T0 + w * WINDOW_S, T0 + (w + 1) * WINDOW_S
    lat = rng.lognormal(np.log(0.04), 0.35, 300) * (8.0 if w in SLOW_WINDOWS else 1.0)
    sc.latencies[w] = lat
    rts = sc.latency_ts[w] = np.sort(rng.uniform(start, end, 300))
    preds.extend(_prediction(f"r{w}-{i}", rts[i], "ranker", {}, {}, float(lat[i]))
                 for i in range(300))
    p99 = float(np.quantile(lat, 0.99))
    reports.append(DetectorReport(
        detector=LATENCY, model="ranker", variant="A", segment="*", window_start=start,
        window_end=end, n=300, statistic=p99, threshold=THRESHOLD_S,
        decision="breach" if p99 > THRESHOLD_S else "ok", ts=end,
        evidence={"quantile": 0.99, "value_s": p99, "threshold_s": THRESHOLD_S}))
    slow = sum(int((sc.latencies[k] > THRESHOLD_S).sum()) for k in range(w + 1))
    budget = 1.0 - slow / (0.001 * 300 * 24 * 3600 / WINDOW_S)
    reports.append(DetectorReport(
        detector=SLO_BURN, model="ranker", variant="A", segment="*", window_start=start,
        window_end=end, n=300, statistic=0.0, threshold=14.4, decision="ok", ts=end,
        evidence={"slo": "latency", "budget_remaining": budget}))


def _hist(bins: np.ndarray, names: Sequence[str], profile: ReferenceProfile
          ) -> dict[str, np.ndarray]:
    return {n: np.bincount(bins[:, i], minlength=len(profile.counts[i]))
            for i, n in enumerate(names)}


def _prediction(rid: str, ts: float, model: str, features: dict[str, float],
                segment: dict[str, str], total_s: float) -> Prediction:
    return Prediction(
        request_id=rid, ts=float(ts), model=model, variant="A", model_version="v1",
        output=ModelOutput(label=1, score=0.7),
        latency=Latency(queue_s=0.0, inference_s=total_s, total_s=total_s),
        features={k: float(v) for k, v in features.items()}, segment=segment)


def _episode(model: str, detector: str, segment: str, summary: str, start: float,
             end: float | None) -> list[Alert]:
    fp = fingerprint(model, detector, segment, "A")
    labels = {"model": model, "variant": "A", "detector": detector, "segment": segment}
    fired = Alert(fingerprint=fp, status="firing", severity="page", labels=labels,
                  annotations={"summary": summary}, starts_at=start)
    if end is None:
        return [fired]
    return [fired, Alert(fingerprint=fp, status="resolved", severity="page", labels=labels,
                         annotations={"summary": summary}, starts_at=start, ends_at=end)]


def _insert(store: ClickHouseStore, events: dict[str, list[Event]]) -> None:
    topics = Topics()
    mapper = RowMapper(topics, max_record_bytes=1 << 20)
    store.apply_schema()
    for role, evs in events.items():
        topic = topics.name(role)
        records = [SourceRecord(topic, 0, i, None, encode(e)) for i, e in enumerate(evs)]
        rows, rejected = mapper.rows(topic, records)
        assert not rejected, rejected
        store.insert(rows.table, rows.columns, rows.rows, token=f"{role}-0-{len(evs)}")
