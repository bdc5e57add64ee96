"""Experiments in the decision step: arms from summaries, decisions as events, one page.

Summaries of the monitor (predictions, SLO-good counts, model errors, new units) and of the outcome
join (labelled, label errors) are built directly from seeded binomials, encoded with the
real codec and fed to a real :class:`DecisionStage`; the clock is manual.
"""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from detectors.ab.experiment import ONE_SIDED, SRM_TEST, TWO_SIDED
from detectors.ab.mixture_sprt import halfwidth, mixing_variance
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.experiments.spec import parse_experiments
from streams.kafka.stage import Output
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import Alert, ExperimentDecided, MonitorSummary
from streams.wire.topics import Topics

TOPICS = Topics("t.")
EXPERIMENT = "churn-v2=churn:A:B:0.5"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _stage(clock: Clock, experiments: str = EXPERIMENT) -> DecisionStage:
    config = DecisionConfig(window_size=400, min_window=10, window_max_s=1e9,
                            experiments=experiments)
    return DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                         max_record_bytes=1 << 20, clock=clock)


def _summary(variant: str, offset: int, t: float, **kw: int) -> MonitorSummary:
    return MonitorSummary(model="churn", variant=variant, partition=0, first_offset=offset,
                          last_offset=offset, window_start=t - 1.0, window_end=t,
                          histograms={}, latency={}, **kw)


class Feed:
    """Rounds of 200 predictions (and 200 labels) per arm, with seeded rates."""

    def __init__(self, stage: DecisionStage, seed: int) -> None:
        self.stage, self.rng, self.offset = stage, np.random.default_rng(seed), 0
        self.units = 0
        self.outputs: list[Output] = []

    def round(self, clock: Clock, n: dict[str, int], slow: dict[str, float],
              label_error: dict[str, float]) -> None:
        records = []
        for variant in ("A", "B"):
            k = n[variant]
            if not k:
                continue  # a variant with no traffic sends no summary
            monitor = _summary(variant, self.offset, clock.t + 0.5, n=k,
                               slo_good=k - int(self.rng.binomial(k, slow[variant])),
                               errors=0)
            monitor.unit_keys = list(range(self.units, self.units + k))  # a unit each
            self.units += k
            join = _summary(variant, self.offset + 1, clock.t + 0.5, n=0, labelled=k,
                            label_errors=int(self.rng.binomial(k, label_error[variant])))
            for s in (monitor, join):
                records.append(SourceRecord(TOPICS.summaries, 0, self.offset, b"churn",
                                            encode(s)))
                self.offset += 1
        clock.t += 1.0
        self.stage.add(records)
        self.outputs.extend(self.stage.flush(force=False) or [])

    def decisions(self) -> list[ExperimentDecided]:
        return [msgspec.json.decode(o.value, type=ExperimentDecided) for o in self.outputs
                if o.topic == TOPICS.model_updates]

    def alerts(self) -> list[Alert]:
        return [msgspec.json.decode(o.value, type=Alert) for o in self.outputs
                if o.topic == TOPICS.alerts]


EVEN = {"A": 200, "B": 200}
FAST = {"A": 0.005, "B": 0.005}


def test_a_better_challenger_is_promoted_once_with_its_interval() -> None:
    clock = Clock()
    feed = Feed(_stage(clock), 1)
    for _ in range(60):
        feed.round(clock, EVEN, FAST, {"A": 0.12, "B": 0.07})
    decisions = feed.decisions()
    final = [d for d in decisions if d.action != "continue"]
    assert len(final) == 1 and final[0].action == "promote" and final[0].test == TWO_SIDED
    d = final[0]
    assert decisions[-1] is d or decisions.index(d) == len(decisions) - 1  # nothing after
    assert d.metric == "label_error" and d.upper is not None and d.upper < 0
    test = feed.stage._state("churn").experiment
    assert test is not None
    a, b = test.champion["label_error"], test.challenger["label_error"]
    assert (d.n_champion, d.n_challenger) == (a.n, b.n)
    v = a.variance / a.n + b.variance / b.n
    w = float(halfwidth(v, mixing_variance(v, a.n + b.n, 0.05), 0.05))
    assert d.estimate == pytest.approx(b.mean - a.mean, abs=1e-12)
    assert (d.lower, d.upper) == pytest.approx((d.estimate - w, d.estimate + w), rel=1e-9)
    assert not feed.alerts()  # a promote does not page


def test_a_slower_challenger_is_rolled_back_and_pages_once() -> None:
    clock = Clock()
    feed = Feed(_stage(clock), 2)
    for _ in range(60):
        feed.round(clock, EVEN, {"A": 0.01, "B": 0.06}, {"A": 0.1, "B": 0.1})
    final = [d for d in feed.decisions() if d.action != "continue"]
    assert [(d.action, d.metric, d.test) for d in final] == [("rollback", "slow", ONE_SIDED)]
    assert final[0].lower is not None and final[0].lower > 0.01 and final[0].upper is None
    alerts = feed.alerts()
    assert [(a.status, a.labels["detector"], a.labels.get("metric")) for a in alerts] == \
        [("firing", "experiment_guardrail", "slow")]


def test_the_guardrail_page_stays_while_the_challenger_serves_and_resolves_when_it_stops(
        ) -> None:
    clock = Clock()
    feed = Feed(_stage(clock), 2)
    while not [d for d in feed.decisions() if d.action != "continue"]:
        feed.round(clock, EVEN, {"A": 0.01, "B": 0.06}, {"A": 0.1, "B": 0.1})
    # the rollback has not reached the workers: B is still served well after the grace
    for _ in range(30):
        feed.round(clock, EVEN, {"A": 0.01, "B": 0.06}, {"A": 0.1, "B": 0.1})
    assert [a.status for a in feed.alerts()] == ["firing"]
    # now it has: only A is served, and the page ends, with the identity it fired with
    for _ in range(30):
        feed.round(clock, {"A": 400, "B": 0}, FAST, {"A": 0.1, "B": 0.1})
    alerts = feed.alerts()
    assert [a.status for a in alerts] == ["firing", "resolved"]
    fired, resolved = alerts
    assert resolved.fingerprint == fired.fingerprint and resolved.labels == fired.labels
    assert resolved.labels["variant"] == "B" and resolved.labels["metric"] == "slow"
    assert "B gets no traffic" in resolved.annotations["summary"]
    assert len([d for d in feed.decisions() if d.action != "continue"]) == 1


def test_a_52_48_router_is_flagged_and_no_decision_is_trusted() -> None:
    clock = Clock()
    feed = Feed(_stage(clock), 3)
    for _ in range(120):
        feed.round(clock, {"A": 208, "B": 192}, FAST, {"A": 0.1, "B": 0.1})
    decisions = feed.decisions()
    assert decisions and all(d.action == "continue" for d in decisions[-3:])
    assert decisions[-1].test == SRM_TEST and decisions[-1].srm_p_value <= 0.001
    assert [a.labels["detector"] for a in feed.alerts()] == ["experiment_srm"]


def test_the_experiment_resumes_from_the_decision_state_after_a_restart() -> None:
    clock = Clock()
    stage = _stage(clock)
    feed = Feed(stage, 4)
    for _ in range(5):
        feed.round(clock, EVEN, FAST, {"A": 0.1, "B": 0.1})
    saved = stage.records("churn")
    fresh = _stage(clock)
    assert fresh.adopt(saved, lambda m: True) == ["churn"]
    before, after = stage._state("churn").experiment, fresh._state("churn").experiment
    assert before is not None and after is not None
    assert after.snapshot() == before.snapshot()
    assert after.champion["label_error"].n == 1000


def test_a_bad_experiment_setting_names_its_part() -> None:
    with pytest.raises(ValueError, match="SHARE must be in"):
        parse_experiments("x=churn:A:B:1.5")
    with pytest.raises(ValueError, match="NAME=MODEL:CHAMPION:CHALLENGER:SHARE"):
        parse_experiments("x=churn:A")


def test_aligned_counts_release_equal_arms_whatever_the_summary_spans() -> None:
    from detectors.ab.srm import SequentialSRM
    from streams.decision.aligned_counts import AlignedCounts

    counts, srm = AlignedCounts(2), SequentialSRM([0.5, 0.5])
    rate = 100.0  # predictions per second in each arm, spread evenly
    ends = {0: 0.0, 1: 0.0}
    spans = {0: 0.3, 1: 0.7}  # the arms' partitions close summaries at different times
    released = np.zeros(2)
    for step in range(600):
        arm = step % 2
        start, end = ends[arm], ends[arm] + spans[arm]
        counts.add(arm, rate * spans[arm], start=start, end=end)
        ends[arm] = end
        out = counts.release()
        srm.update(out)
        released += out
        assert released[0] == pytest.approx(released[1], rel=1e-9, abs=1e-6)
    assert released[0] > 8_000 and not srm.mismatch
    assert srm.p_value == 1.0  # the counts never drew apart


def test_an_experiment_started_in_the_registry_is_judged_and_replaces_the_configs() -> None:
    from streams.experiments.spec import from_plain, to_plain

    started = from_plain("churn", to_plain(parse_experiments("live=churn:A:B:0.5")[0]))
    assert started is not None and started.name == "live"
    assert from_plain("churn", {"name": "x", "champion": "A"}) is None  # unreadable: none
    clock = Clock()
    config = DecisionConfig(window_size=400, min_window=10, window_max_s=1e9,
                            experiments="old=churn:A:C:0.5")
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=clock,
                          started=lambda m: started if m == "churn" else None)
    feed = Feed(stage, 1)
    for _ in range(60):
        feed.round(clock, EVEN, FAST, {"A": 0.12, "B": 0.07})
    final = [d for d in feed.decisions() if d.action != "continue"]
    assert [(d.experiment, d.challenger, d.action) for d in final] == [("live", "B", "promote")]
    saved = stage.records("churn")  # and its state is restored under the started name
    fresh = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 20, clock=clock, started=lambda m: started)
    assert fresh.adopt(saved, lambda m: True) == ["churn"]
    assert fresh._state("churn").experiment_final == "promote"
