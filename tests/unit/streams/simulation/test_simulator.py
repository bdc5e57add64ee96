"""The traffic plan of the simulator: pure, seeded, with a manual clock."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from retrain.synthetic import FEATURES, NOMINAL_MOMENTS, Drift
from streams.simulation.simulator import Scenario, TrafficPlan
from streams.wire.codec import BatchDecoder, SourceRecord
from streams.wire.events import InferenceRequest, Outcome, Prediction
from streams.wire.topics import Topics

TOPICS = Topics("s.")
CHUNK = 500


class TickClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


Records = list[tuple[str, bytes, bytes]]


def _run(scenario: Scenario, chunk: int = CHUNK) -> tuple[TrafficPlan, Records]:
    plan = TrafficPlan(scenario, TOPICS, TickClock())
    out = []
    for start in range(0, scenario.count, chunk):
        out += plan.chunk(start, min(start + chunk, scenario.count))
    return plan, out


def _decode(records: list[tuple[str, bytes, bytes]], topic: str, event: type) -> list:
    recs = [SourceRecord(t, 0, i, k, v) for i, (t, k, v) in enumerate(records) if t == topic]
    dec = BatchDecoder(event, max_record_bytes=1 << 16).decode(recs)
    assert dec.rejected == []
    return dec.events


def _index(rid: str) -> int:
    return int(rid.rsplit("-", 1)[1])


def test_requests_plus_external_predictions_make_count() -> None:
    plan, out = _run(Scenario(count=3000, seed=1, external_share=0.3))
    reqs = _decode(out, TOPICS.requests, InferenceRequest)
    ext = _decode(out, TOPICS.predictions, Prediction)
    assert len(reqs) + len(ext) == 3000
    assert plan.result.requests == len(reqs) and plan.result.external_predictions == len(ext)
    assert abs(len(ext) - 900) <= 5 * math.sqrt(3000 * 0.3 * 0.7)
    assert sorted([_index(e.id) for e in reqs] + [_index(p.request_id) for p in ext]) == list(
        range(3000))
    assert all(p.model == "ranker" and p.device == "external" for p in ext)


def test_ids_unique_and_deterministic_for_a_seed() -> None:
    s = Scenario(count=1200, seed=5, run_id="run7", external_share=0.2, outcome_share=0.1,
                 outcome_lag=50)
    _, first = _run(s)
    _, again = _run(s)
    assert first == again
    ids = [k for t, k, _ in first if t != TOPICS.outcomes]
    assert len(ids) == len(set(ids)) == 1200
    assert all(k.startswith(b"run7-") for k in ids)
    _, other = _run(Scenario(count=1200, seed=6, run_id="run7", external_share=0.2))
    assert [v for _, _, v in other] != [v for _, _, v in first]


def test_drift_applies_only_from_drift_at() -> None:
    drift = Drift("f2", 1.5)
    _, plain = _run(Scenario(count=2000, seed=3))
    plan, drifted = _run(Scenario(count=2000, seed=3, drift_at=1000, drift=drift))
    a = {r.id: r for r in _decode(plain, TOPICS.requests, InferenceRequest)}
    b = {r.id: r for r in _decode(drifted, TOPICS.requests, InferenceRequest)}
    assert a.keys() == b.keys()
    step = 1.5 * NOMINAL_MOMENTS["f2"][1]
    for rid, req in b.items():
        same = a[rid].features
        if _index(rid) < 1000:
            assert req.features == same
        else:
            for name in FEATURES:
                expected = same[name] + (step if name == "f2" else 0.0)
                assert req.features[name] == pytest.approx(expected, abs=1e-12)
    assert plan.result.drift_started_ts is not None


def test_drift_in_the_middle_of_a_chunk_starts_at_its_index() -> None:
    _, out = _run(Scenario(count=1000, seed=4, drift_at=730, drift=Drift("f2", 3.0)))
    reqs = _decode(out, TOPICS.requests, InferenceRequest)
    before = [r.features["f2"] for r in reqs if _index(r.id) < 730]
    after = [r.features["f2"] for r in reqs if _index(r.id) >= 730]
    # uniform(0, 1) before; shifted by 3 std = 0.866 after
    assert max(before) <= 1.0
    assert min(after) >= 3.0 * NOMINAL_MOMENTS["f2"][1] - 1e-12
    assert len(after) == 270


def test_external_latency_regresses_between_latency_from_and_to() -> None:
    _, out = _run(Scenario(count=6000, seed=2, external_share=0.5, latency_from=2000,
                           latency_to=4000))
    preds = _decode(out, TOPICS.predictions, Prediction)
    by_phase: dict[str, list[float]] = {"before": [], "slow": [], "after": []}
    for p in preds:
        i = _index(p.request_id)
        by_phase["before" if i < 2000 else "slow" if i < 4000 else "after"].append(
            p.latency.total_s)
        assert p.latency.queue_s + p.latency.inference_s == pytest.approx(p.latency.total_s)
    for phase, median in (("before", 0.04), ("slow", 0.4), ("after", 0.04)):
        got = float(np.median(by_phase[phase]))
        assert abs(got - median) <= 0.1 * median, (phase, got)
        assert len(by_phase[phase]) > 800


def test_outcomes_for_a_share_and_only_after_the_lag() -> None:
    lag = 300
    plan, out = _run(Scenario(count=5000, seed=9, outcome_share=0.25, outcome_lag=lag), chunk=250)
    position = {k: i for i, (t, k, _) in enumerate(out) if t == TOPICS.requests}
    last_request = max(position.values())
    outcomes = [(i, k) for i, (t, k, _) in enumerate(out) if t == TOPICS.outcomes]
    n = plan.result.requests
    assert plan.result.outcomes == len(outcomes)
    assert abs(len(outcomes) - 0.25 * n) <= 5 * math.sqrt(n * 0.25 * 0.75)
    assert len({k for _, k in outcomes}) == len(outcomes)
    for pos, key in outcomes:
        i = _index(key.decode())
        assert pos > position[key]
        later = f"sim-{i + lag:09d}".encode()
        # sent after the request `lag` later, or in the final flush after the last request
        assert (later in position and pos > position[later]) or pos > last_request
    early = [k for pos, k in outcomes if pos < last_request]
    assert len(early) > 0.8 * len(outcomes)
    values = {o.value for o in _decode(out, TOPICS.outcomes, Outcome)}
    assert values <= {0.0, 1.0}


def test_no_outcomes_without_a_share() -> None:
    plan, out = _run(Scenario(count=800, seed=1))
    assert plan.result.outcomes == 0
    assert all(t == TOPICS.requests for t, _, _ in out)


def test_a_faulty_producer_sends_malformed_requests_and_drops_a_feature() -> None:
    scenario = Scenario(count=4000, seed=5, external_share=0.25, malformed_share=0.2,
                        missing_feature="f2", missing_share=0.3)
    plan, out = _run(scenario)
    recs = [SourceRecord(t, 0, i, k, v) for i, (t, k, v) in enumerate(out)
            if t == TOPICS.requests]
    dec = BatchDecoder(InferenceRequest, max_record_bytes=1 << 16).decode(recs)
    assert {r.kind for r in dec.rejected} == {"malformed"}
    assert len(dec.rejected) == plan.result.malformed
    served = len(dec.rejected) + len(dec.events)
    # binomial counts within 5 standard deviations of their means
    assert abs(len(dec.rejected) - 0.2 * served) <= 5 * math.sqrt(served * 0.2 * 0.8)
    ext = _decode(out, TOPICS.predictions, Prediction)
    rows = [e.features for e in dec.events] + [p.features for p in ext]
    lacking = sum("f2" not in f for f in rows)
    assert abs(lacking - 0.3 * len(rows)) <= 5 * math.sqrt(len(rows) * 0.3 * 0.7)
    assert all(set(f) | {"f2"} == set(FEATURES) for f in rows)
    # the faults draw from their own generator: the rest of the scenario is unchanged
    _, clean = _run(Scenario(count=4000, seed=5, external_share=0.25))
    clean_ids = {k for t, k, _ in clean}
    assert {k for t, k, _ in out} == clean_ids
    with pytest.raises(ValueError, match="missing_feature"):
        Scenario(count=1, missing_feature="nope")
    with pytest.raises(ValueError, match="malformed_share"):
        Scenario(count=1, malformed_share=1.5)


def test_the_rankers_challenger_is_sticky_better_and_slower_as_configured() -> None:
    from inference.routing import VariantRouter

    scenario = Scenario(count=20_000, seed=5, external_share=1.0, outcome_share=1.0,
                        challenger_share=0.5, challenger_lift=0.5, challenger_latency_s=0.3,
                        ranker_error=0.2, experiment="exp-7")
    _, out = _run(scenario)
    preds = _decode(out, TOPICS.predictions, Prediction)
    labels = {o.request_id: int(o.value) for o in _decode(out, TOPICS.outcomes, Outcome)}
    router = VariantRouter({"A": 0.5, "B": 0.5}, salt="exp-7")
    assert all(p.variant == router.assign(p.unit_id) for p in preds)  # the worker's hash
    by_unit: dict[str, set[str]] = {}
    for p in preds:
        by_unit.setdefault(p.unit_id, set()).add(p.variant)
    assert all(len(v) == 1 for v in by_unit.values())
    for variant, rate in (("A", 0.2), ("B", 0.1)):
        mine = [p for p in preds if p.variant == variant]
        errors = sum(p.output.label != labels[p.request_id] for p in mine)
        # within 4 binomial standard deviations of the configured error rate
        assert abs(errors / len(mine) - rate) < 4 * math.sqrt(rate * (1 - rate) / len(mine))
    median = {v: float(np.median([p.latency.total_s for p in preds if p.variant == v]))
              for v in "AB"}
    assert median["B"] - median["A"] == pytest.approx(0.3, abs=0.01)


def test_the_retraining_scenario_spreads_f7_threefold_from_a_third_and_labels_half() -> None:
    plan = TrafficPlan(Scenario.retraining(6000, seed=4), TOPICS, clock=lambda: 0.0)
    reqs = [msgspec.json.decode(v, type=InferenceRequest)
            for t, _, v in plan.chunk(0, 6000) if t == TOPICS.requests]
    f7 = np.array([r.features["f7"] for r in reqs])
    before, after = f7[:2000], f7[2000:]
    nominal = 40.0 / np.sqrt(12)  # uniform(-20, 20)
    assert abs(before.std() / nominal - 1.0) < 0.05
    assert abs(after.std() / nominal - 3.0) < 0.15
    assert abs(plan.result.outcomes / 6000 - 0.5) < 0.03
