"""The state contract every stateful piece of the pipeline keeps (:mod:`detectors.state`).

Each class with ``snapshot`` and ``restore`` is found in the packages, so a new one cannot
be left out. For each: the snapshot survives the wire codec (JSON through msgspec) and is
taken back by an object built with the same parameters; the restored object then behaves
exactly like the original on the next 10^4 inputs; and the snapshot stays bounded however
long the stream.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pytest

import detectors
import retrain
import streams
from detectors.ab.arm import ArmSummary
from detectors.ab.bivariate import BivariateSummary
from detectors.ab.experiment import ExperimentTest, Guardrail
from detectors.ab.paired import DiscordantPairs, PairedCorrectnessTest
from detectors.ab.paired_error import PairedErrorTest
from detectors.ab.srm import SequentialSRM
from detectors.alert_rule import AlertRule
from detectors.alert_signal import AlertSignal
from detectors.base import Detector
from detectors.burn_rate import BurnRateMonitor
from detectors.consumer_lag import ConsumerLag
from detectors.dead_letter_rate import DeadLetterRate
from detectors.error_rate import ErrorRateShift
from detectors.incidents import IncidentTracker
from detectors.performance_estimate import AccuracyEstimate
from detectors.quantile_sketch import QuantileSketch
from detectors.slo import LatencySLO
from detectors.state import Stateful
from detectors.sustained import SustainedCondition
from retrain.label_retry import LabelRetry
from retrain.policy import RetrainPolicy
from streams.decision.alert_book import AlertBook
from streams.decision.aligned_counts import AlignedCounts
from streams.decision.config import DecisionConfig
from streams.decision.state import ModelState
from streams.decision.verdict import Verdict
from streams.decision.window import DecisionWindow
from streams.health.watch import HealthWatch
from streams.settings import HealthSettings
from streams.wire.events import DetectorReport, MonitorSummary

NEXT = 10_000


@dataclass
class Case:
    """How to build one stateful class, feed it one input, and say what it answered."""

    make: Callable[[], Any]
    #: (object, rng, step) -> what the object answered (compared between the two copies)
    step: Callable[[Any, np.random.Generator, int], Any]
    #: the most snapshot bytes allowed after ``long`` inputs
    max_bytes: int
    long: int = 50_000
    #: what a restored copy takes from the original besides its state (an injected clock)
    sync: Callable[[Any, Any], None] | None = None


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def _rule_step(rule: AlertRule, rng: np.random.Generator, i: int) -> Any:
    return rule.observe(f"k{i % 5}", bool(rng.random() < 0.4), now=float(i))


def _policy_step(policy: RetrainPolicy, rng: np.random.Generator, i: int) -> Any:
    policy.observe_labels(f"m{i % 3}", int(rng.integers(0, 20)))
    return policy.decide(f"m{i % 3}", int(rng.integers(0, 6)), incident_start=float(i // 40),
                         now=float(i))


def _error_rate_step(det: ErrorRateShift, rng: np.random.Generator, i: int) -> Any:
    labelled = int(rng.integers(1, 200))
    rate = 0.1 if (i // 500) % 2 == 0 else 0.3
    return det.update(int(rng.binomial(labelled, rate)), labelled)


def _sketch_step(sketch: QuantileSketch, rng: np.random.Generator, i: int) -> Any:
    sketch.update(float(rng.lognormal(-3.0, 1.0)))
    return sketch.quantile(0.99) if i % 97 == 0 else None


def _burn() -> BurnRateMonitor:
    clock = Clock()
    mon = BurnRateMonitor(LatencySLO("p99 < 200 ms", 0.99, 0.2), clock=clock)
    mon.clock_ref = clock  # type: ignore[attr-defined]
    return mon


def _burn_step(mon: BurnRateMonitor, rng: np.random.Generator, i: int) -> Any:
    mon.clock_ref.t += 30.0  # type: ignore[attr-defined]
    total = int(rng.integers(50, 150))
    bad_share = 0.3 if (i // 400) % 3 == 2 else 0.002
    mon.record(total - int(rng.binomial(total, bad_share)), total)
    alert = mon.evaluate()
    return alert.severity, round(alert.budget_remaining, 12)


def _summary(rng: np.random.Generator, i: int) -> MonitorSummary:
    sketch = QuantileSketch()
    sketch.update_many(rng.lognormal(-3.0, 0.5, 20))
    return MonitorSummary(
        model="churn", variant="A", partition=i % 6, first_offset=i, last_offset=i,
        window_start=float(i),
        window_end=float(i) + 1.0, n=20, histograms={"f0": rng.integers(0, 5, 10).tolist()},
        latency={"total": sketch.snapshot()}, labelled=3, label_errors=int(rng.integers(0, 2)),
        categories={"plan": rng.integers(0, 5, 5).tolist()},
        category_segments={f"region=r{i % 3}": {"plan": rng.integers(0, 5, 5).tolist()}},
        # ever new unseen values: the window keeps the most frequent only
        unseen_categories={"plan": {f"new-{i}": 1, "gold": int(rng.integers(1, 4))}})


def _window_step(win: DecisionWindow, rng: np.random.Generator, i: int) -> Any:
    if i % 50 == 0:  # a decision window closes and the next begins
        win.restore(DecisionWindow("churn", "A", opened=float(i)).snapshot())
    win.merge(_summary(rng, i))
    return (win.n, win.label_errors, win.latency["total"].quantile(0.5),
            win.categories["*"]["plan"].tolist(), sorted(win.unseen_categories["plan"].items()))


def _verdict(rng: np.random.Generator, i: int) -> Verdict:
    bad = bool(rng.random() < 0.5)
    report = DetectorReport(detector="feature_drift", model="churn", variant="A", segment="*",
                            window_start=0.0, window_end=1.0, n=1, statistic=0.0,
                            threshold=0.1, decision="ok")
    target = {"feature": f"f{i % 4}", "segment": "*"} if bad else {}
    return Verdict(f"d{i % 3}", report, bad, {"x": float(i)}, target=target)


def _book_step(book: AlertBook, rng: np.random.Generator, i: int) -> Any:
    alert = book.observe("churn", "AB"[i % 2], _verdict(rng, i), now=float(i),
                         describe=lambda e: "x", dashboard="d")
    return None if alert is None else msgspec.json.encode(alert)


def _model_state_step(state: ModelState, rng: np.random.Generator, i: int) -> Any:
    out = _book_step(state.alerts, rng, i)
    det = state.concept_detector("AB"[i % 2])
    labelled = int(rng.integers(1, 100))
    verdict = det.update(int(rng.binomial(labelled, 0.2)), labelled)
    decision = state.retrain.consider("churn", int(rng.integers(0, 5)),
                                      incident_start=float(i // 30), now=float(i))
    win = state.windows.setdefault("A", DecisionWindow("churn", "A", opened=0.0))
    win.merge(_summary(rng, i))
    if win.n >= 400:
        del state.windows["A"]
    return out, verdict.drift, decision


def _tracker() -> IncidentTracker:
    """A tracker whose clock the step sets (``contract_now``), so both copies see one time."""
    now = [0.0]
    tracker = IncidentTracker(lambda: now[0], resolve_after_evaluations=1, group_wait_s=0.5,
                              group_interval_s=60.0, resolve_after_s=20.0, cooldown_s=50.0)
    tracker.contract_now = now  # type: ignore[attr-defined]
    return tracker


def _tracker_step(tracker: IncidentTracker, rng: np.random.Generator, i: int) -> Any:
    tracker.contract_now[0] = float(i)  # type: ignore[attr-defined]
    detector = ("feature_drift", "experiment_srm", "latency")[int(rng.integers(0, 3))]
    feature = f"f{int(rng.integers(0, 4))}"
    status = "firing" if (i // 300) % 2 == 0 and rng.random() < 0.7 else "resolved"
    signal = AlertSignal("churn", detector, status, at=float(i), segment="*",  # type: ignore[arg-type]
                         variant="A", feature=feature, fingerprint=f"{detector}-{feature}",
                         summary=detector, evidence={"x": float(i)})
    notes = tracker.observe(signal) + tracker.tick()
    return [(n.status, n.dedup_key, n.joined) for n in notes]


def _retry_step(retry: LabelRetry, rng: np.random.Generator, i: int) -> Any:
    now = float(i)
    if rng.random() < 0.05:
        retry.wait(f"rt-{int(rng.integers(0, 20))}", "churn", data_from=now - 100, now=now)
    asked = [retry.checked(w.retrain_id, labelled=int(rng.integers(0, 200)), now=now)
             for w in retry.due(now)]
    return [(a.retrain_id, a.attempt) for a in asked if a is not None]


def _sustained_step(cond: SustainedCondition, rng: np.random.Generator, i: int) -> Any:
    return cond.observe(f"k{i % 3}", bool(rng.random() < (0.9 if (i // 300) % 2 else 0.05)),
                        now=float(i))


def _dead_letter_step(rule: DeadLetterRate, rng: np.random.Generator, i: int) -> Any:
    now = float(i)
    rule.add_volume("requests", 100 * i, now=now)
    bad = (i // 200) % 2 == 1
    rule.add_dead_letters("*", "requests", "malformed", int(rng.integers(10, 30)) if bad
                          else int(rng.integers(0, 2)), now=now)
    return [(c.parts, c.status) for c in rule.evaluate(now=now)]


def _lag_step(rule: ConsumerLag, rng: np.random.Generator, i: int) -> Any:
    lag = int(rng.integers(0, 50_000)) if (i // 300) % 2 else int(rng.integers(0, 100))
    return [(c.parts, c.status) for c in rule.evaluate({("g", "t"): lag}, now=float(i))]


def _health_step(watch: HealthWatch, rng: np.random.Generator, i: int) -> Any:
    now = float(i)
    watch.volumes({"t.requests": 100 * i}, now=now)
    bad = (i // 200) % 2 == 1
    headers = [("inferwatch.source.topic", b"t.requests"), ("inferwatch.error.kind", b"decode")]
    watch.dead_letters([(headers, b"{", now)] * (20 if bad else 0))
    lag = 50_000 if (i // 300) % 2 else 10
    return [msgspec.json.encode(a) for a in watch.evaluate({("g", "t"): lag}, now=now)]


def _arm_step(arm: ArmSummary, rng: np.random.Generator, i: int) -> Any:
    arm.update_many(rng.random(int(rng.integers(1, 20))) < 0.3)
    return arm.n, arm.successes, round(arm.variance, 12)


def _srm_step(srm: SequentialSRM, rng: np.random.Generator, i: int) -> Any:
    served = int(rng.binomial(50, 0.52))
    srm.update([served, 50 - served])
    return srm.mismatch, round(srm.p_value, 12)


def _experiment_step(t: ExperimentTest, rng: np.random.Generator, i: int) -> Any:
    if i % 2000 == 0:  # an experiment ends and the next begins
        t.restore(ExperimentTest("conversion", guardrails=(Guardrail("latency"),)).snapshot())
    n = int(rng.integers(5, 30))
    t.champion["conversion"].update_many(rng.random(n) < 0.10)
    t.challenger["conversion"].update_many(rng.random(n) < 0.12)
    t.champion["latency"].update_many(rng.gamma(4.0, 0.0125, n))
    t.challenger["latency"].update_many(rng.gamma(4.0, 0.0126, n))
    t.srm.update([n, n])
    d = t.decide()
    return d.action, d.metric, round(d.p_value, 12)


def _shadow_labels(rng: np.random.Generator, i: int) -> tuple[np.ndarray, ...]:
    n = int(rng.integers(1, 20))
    truth = rng.integers(0, 3, n)
    champion = np.where(rng.random(n) < 0.8, truth, rng.integers(0, 3, n))
    shadow = np.where(rng.random(n) < (0.9 if (i // 3000) % 2 else 0.8), truth, champion)
    return champion, shadow, truth


def _pairs_step(pairs: DiscordantPairs, rng: np.random.Generator, i: int) -> Any:
    champion, shadow, truth = _shadow_labels(rng, i)
    pairs.observe_predictions(champion, shadow)
    pairs.observe_labels(champion, shadow, truth)
    return pairs.discordant, pairs.disagreements


def _paired_step(t: PairedCorrectnessTest, rng: np.random.Generator, i: int) -> Any:
    if i % 2000 == 0:  # a shadow is judged and the next one starts
        t.restore(PairedCorrectnessTest().snapshot())
    champion, shadow, truth = _shadow_labels(rng, i)
    t.pairs.observe_predictions(champion, shadow)
    t.pairs.observe_labels(champion, shadow, truth)
    v = t.decide()
    rate = t.disagreement().upper if i % 50 == 0 else None  # its root search is slow
    return v.outcome, round(v.p_value, 12), rate


def _paired_error_step(t: PairedErrorTest, rng: np.random.Generator, i: int) -> Any:
    if i % 2000 == 0:
        t.restore(PairedErrorTest().snapshot())
    n = int(rng.integers(1, 20))
    truth, shared = rng.normal(size=n), rng.normal(size=n)
    t.observe(truth + shared, truth + 0.9 * shared + rng.normal(0.0, 0.1, n), truth)
    v = t.decide()
    return v.outcome, round(v.p_value, 12)


def _bivariate_step(s: BivariateSummary, rng: np.random.Generator, i: int) -> Any:
    x = rng.normal(size=int(rng.integers(1, 20)))
    s.update_many(y=0.5 * x + rng.normal(size=x.size), x=x)
    return s.n, round(s.cov, 12)


def _aligned_step(counts: AlignedCounts, rng: np.random.Generator, i: int) -> Any:
    arm = int(rng.integers(0, 2))
    start = i / 7 + float(rng.random())
    counts.add(arm, int(rng.integers(1, 50)), start=start, end=start + float(rng.random()))
    return counts.release() if i % 5 == 0 else None


def _estimate_step(est: AccuracyEstimate, rng: np.random.Generator, i: int) -> Any:
    if i % 100 == 0:  # a window closes and the next begins
        est.reset()
    low = 0.6 if (i // 1000) % 2 else 0.8
    est.update_many(rng.uniform(low, 1.0, int(rng.integers(1, 20))))
    if i % 7 == 0:
        est.add_labels(int(rng.integers(0, 4)), 3)
    return est.n, round(est.estimate, 12), est.realised, est.degraded


def _change_detector(cls: type[Detector]) -> Case:
    binary = getattr(cls, "input_kind", "real") == "binary"

    def step(det: Detector, rng: np.random.Generator, i: int) -> Any:
        shifted = (i // 2000) % 2 == 1
        x = float(rng.random() < (0.4 if shifted else 0.1)) if binary else \
            float(rng.normal(2.0 if shifted else 0.0, 1.0))
        det.update(x)
        return det.drift_detected

    return Case(cls, step, max_bytes=64 * 1024, long=20_000)


CASES: dict[str, Case] = {
    "AlertRule": Case(lambda: AlertRule(2, 2), _rule_step, max_bytes=2048),
    "RetrainPolicy": Case(lambda: RetrainPolicy(3, 600.0, min_new_labels=100, budget=3,
                                                budget_period_s=2000.0), _policy_step,
                          max_bytes=1024),
    "ErrorRateShift": Case(lambda: ErrorRateShift(1000, 0.001, 0.05), _error_rate_step,
                           max_bytes=1024),
    "QuantileSketch": Case(QuantileSketch, _sketch_step, max_bytes=16 * 1024, long=200_000),
    "BurnRateMonitor": Case(_burn, _burn_step, max_bytes=160 * 1024, long=100_000,
                            sync=lambda a, b: setattr(b.clock_ref, "t", a.clock_ref.t)),
    "DecisionWindow": Case(lambda: DecisionWindow("churn", "A", opened=0.0), _window_step,
                           max_bytes=32 * 1024, long=20_000),
    "AlertBook": Case(lambda: AlertBook(2, 2), _book_step, max_bytes=8 * 1024),
    "LabelRetry": Case(lambda: LabelRetry(100, first_check_s=5.0, max_retries=3,
                                          give_up_s=500.0), _retry_step, max_bytes=8 * 1024),
    "IncidentTracker": Case(_tracker, _tracker_step, max_bytes=64 * 1024),
    "SustainedCondition": Case(lambda: SustainedCondition(5.0, 5.0), _sustained_step,
                               max_bytes=2048),
    "DeadLetterRate": Case(lambda: DeadLetterRate(0.05, 30.0, 50, 5.0, 5.0), _dead_letter_step,
                           max_bytes=16 * 1024),
    "ConsumerLag": Case(lambda: ConsumerLag(10_000, 10.0, 10.0), _lag_step, max_bytes=2048),
    "HealthWatch": Case(lambda: HealthWatch(HealthSettings(
        dead_letter_window_s=30, dead_letter_min_records=50, schema_fire_after_s=5,
        schema_resolve_after_s=5, lag_fire_after_s=10, lag_resolve_after_s=10)),
        _health_step, max_bytes=16 * 1024),
    "ArmSummary": Case(lambda: ArmSummary(binary=True), _arm_step, max_bytes=256),
    "DiscordantPairs": Case(DiscordantPairs, _pairs_step, max_bytes=256),
    "PairedCorrectnessTest": Case(PairedCorrectnessTest, _paired_step, max_bytes=512,
                                  long=10_000),
    "PairedErrorTest": Case(PairedErrorTest, _paired_error_step, max_bytes=512, long=10_000),
    "BivariateSummary": Case(BivariateSummary, _bivariate_step, max_bytes=512),
    "AlignedCounts": Case(lambda: AlignedCounts(2), _aligned_step, max_bytes=1024),
    "SequentialSRM": Case(lambda: SequentialSRM([0.5, 0.5]), _srm_step, max_bytes=256),
    "ExperimentTest": Case(
        lambda: ExperimentTest("conversion", guardrails=(Guardrail("latency"),)),
        _experiment_step, max_bytes=1024, long=10_000),
    "AccuracyEstimate": Case(lambda: AccuracyEstimate(0.9, max_drop=0.05), _estimate_step,
                             max_bytes=1024),
    "ModelState": Case(lambda: ModelState("churn", DecisionConfig()), _model_state_step,
                       max_bytes=96 * 1024, long=10_000),
}


def _stateful_classes() -> Iterator[type]:
    """Every class in our packages that defines both ``snapshot`` and ``restore``."""
    for package in (detectors, retrain, streams):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == info.name and callable(getattr(cls, "snapshot", None)) \
                        and callable(getattr(cls, "restore", None)) and cls is not Stateful:
                    yield cls


FOUND = {cls.__name__: cls for cls in _stateful_classes()}
# abstract bases: their concrete subclasses are checked
BASES = {"Detector", "DriftDetector", "ChangeDetector"}
for _name, _cls in FOUND.items():
    if _name not in CASES and _name not in BASES and issubclass(_cls, Detector):
        CASES[_name] = _change_detector(_cls)


def test_every_stateful_class_is_held_to_the_contract() -> None:
    assert set(FOUND) - BASES <= set(CASES), sorted(set(FOUND) - BASES - set(CASES))
    assert {"ADWIN", "PageHinkley", "AlertRule", "BurnRateMonitor", "QuantileSketch"} <= set(CASES)


def _run(obj: Any, case: Case, rng: np.random.Generator, start: int, n: int) -> list[Any]:
    return [case.step(obj, rng, i) for i in range(start, start + n)]


def _wire(snapshot: dict[str, Any]) -> dict[str, Any]:
    raw = msgspec.json.encode(snapshot)
    decoded: dict[str, Any] = msgspec.json.decode(raw)
    return decoded


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_restored_copy_behaves_identically_on_the_next_inputs(name: str) -> None:
    case = CASES[name]
    original = case.make()
    assert isinstance(original, Stateful)
    _run(original, case, np.random.default_rng(1), 0, 3_000)
    snap = original.snapshot()
    copy = case.make()
    copy.restore(_wire(snap))
    if case.sync is not None:
        case.sync(original, copy)
    assert _wire(copy.snapshot()) == _wire(snap)
    seed = np.random.SeedSequence(2)
    ahead = _run(original, case, np.random.default_rng(seed), 3_000, NEXT)
    again = _run(copy, case, np.random.default_rng(seed), 3_000, NEXT)
    assert again == ahead
    assert any(a is not None and a is not False for a in ahead), "the inputs say something"
    assert _wire(copy.snapshot()) == _wire(original.snapshot())


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_snapshot_stays_bounded(name: str) -> None:
    case = CASES[name]
    obj = case.make()
    rng = np.random.default_rng(3)
    sizes = []
    for part in range(5):
        _run(obj, case, rng, part * case.long // 5, case.long // 5)
        sizes.append(len(msgspec.json.encode(obj.snapshot())))
    assert max(sizes) <= case.max_bytes, sizes
    assert sizes[-1] <= 2 * sizes[1] + 1024, sizes  # no growth with the stream's length
