"""The monitor stage counts categorical inputs over the category profile's bins."""

from __future__ import annotations

from collections import Counter

import msgspec
import numpy as np

from detectors.reference.categories import CategoryProfile
from streams.monitoring.category_counts import MAX_UNSEEN
from streams.monitoring.monitor_stage import MonitorStage
from tests.unit.streams.monitoring.test_monitor_stage import (
    TOPICS,
    Clock,
    _predictions,
    _records,
    _summaries,
)

VOCAB = {"plan": ["free", "pro", "team"], "channel": ["web", "app"]}
PROFILE = CategoryProfile.from_columns({"plan": ["free", "pro", "team"],
                                        "channel": ["web", "app"]}, VOCAB)


def _with_categories(seed: int, n: int) -> list:
    rng = np.random.default_rng(seed)
    preds = _predictions(seed, n)
    plans = rng.choice(["free", "pro", "team", "gold", "", None], n,
                       p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    out = []
    for i, p in enumerate(preds):
        cats = {"channel": str(rng.choice(["web", "app", "fax"]))}
        if plans[i] is not None:
            cats["plan"] = str(plans[i])
        if i % 50 == 0:  # many distinct new values: only the most frequent are named
            cats["plan"] = f"new-{i}"
        out.append(msgspec.structs.replace(p, categorical=cats))
    return out


def _expected(preds: list, name: str) -> list[int]:
    vocab = VOCAB[name]
    codes = [vocab.index(v) if v in vocab else (len(vocab) + 1 if v is None else len(vocab))
             for v in (p.categorical.get(name) for p in preds)]
    return np.bincount(codes, minlength=len(vocab) + 2).tolist()


def test_counts_per_feature_and_segment_and_the_unseen_values() -> None:
    stage = MonitorStage(topics=TOPICS, references=lambda m: None, summary_size=10_000,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock(),
                         category_references=lambda m: PROFILE if m == "churn" else None)
    preds = _with_categories(1, 1200)
    stage.add(_records(preds, 0))
    (summary,) = _summaries(stage.flush(force=True) or [])
    assert summary.checked == 1200
    assert summary.categories == {n: _expected(preds, n) for n in VOCAB}
    for region in ("eu", "us", "apac"):
        mine = [p for p in preds if p.segment["region"] == region]
        assert summary.category_segments[f"region={region}"] == {
            n: _expected(mine, n) for n in VOCAB}
    plans = Counter(p.categorical.get("plan") for p in preds)
    unseen = {v: c for v, c in plans.items() if v is not None and v not in VOCAB["plan"]}
    assert len(summary.unseen_categories["plan"]) == MAX_UNSEEN
    assert summary.unseen_categories["plan"]["gold"] == unseen["gold"]
    assert summary.unseen_categories["plan"][""] == unseen[""]
    assert set(summary.unseen_categories["channel"]) == {"fax"}


def test_no_profile_no_category_fields() -> None:
    stage = MonitorStage(topics=TOPICS, references=lambda m: None, summary_size=10_000,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=Clock(),
                         category_references=lambda m: None)
    stage.add(_records(_with_categories(2, 50), 0))
    (summary,) = _summaries(stage.flush(force=True) or [])
    assert summary.categories == {} and summary.checked == 0
