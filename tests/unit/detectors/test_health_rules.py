"""Schema (dead-letter rate) and consumer-lag rules on a manual clock: fire, resolve,
fire again, and resume exactly from a snapshot."""

from __future__ import annotations

import json

import pytest

from detectors.consumer_lag import ConsumerLag
from detectors.dead_letter_rate import DeadLetterRate
from detectors.sustained import SustainedCondition

KEY = ("*", "requests", "malformed")


def _feed(rule: DeadLetterRate, t0: float, t1: float, rate: float, bad_share: float,
          end: int) -> tuple[list, int]:  # type: ignore[type-arg]
    """One evaluation per second: ``rate`` records/s of which ``bad_share`` dead letters."""
    changes = []
    for t in range(int(t0), int(t1)):
        end += int(rate)
        rule.add_volume("requests", end, now=float(t))
        if bad_share:
            rule.add_dead_letters(*KEY, int(rate * bad_share), now=float(t))
        changes += [(t, c) for c in rule.evaluate(now=float(t))]
    return changes, end


def test_dead_letter_rate_fires_resolves_and_fires_again() -> None:
    rule = DeadLetterRate(max_share=0.05, window_s=10, min_records=50, fire_after_s=5,
                          resolve_after_s=8)
    quiet, end = _feed(rule, 0, 30, 100, 0.0, 0)
    assert quiet == []
    fired, end = _feed(rule, 30, 60, 100, 0.2, end)
    # the 10 s window fills at 20 dead letters/s out of 1000 records: over 5% from
    # t = 32 (60/1000), sustained 5 s, fired at 37 with 8 s of dead letters in the window
    assert [(t, c.status, c.parts) for t, c in fired] == [(37, "firing", KEY)]
    assert fired[0][1].evidence == {"share": 0.16, "dead_letters": 160.0,
                                    "records": 1000.0, "window_s": 10, "max_share": 0.05}
    resolved, end = _feed(rule, 60, 90, 100, 0.0, end)
    # the last dead letters (t = 59) leave the window: 40/1000 at t = 67, clear for 8 s
    assert [(t, c.status) for t, c in resolved] == [(75, "resolved")]
    assert resolved[0][1].starts_at == 37 and resolved[0][1].ends_at == 75
    assert resolved[0][1].evidence["share"] == 0.0  # the evidence now, not at the firing
    again, _ = _feed(rule, 90, 120, 100, 0.5, end)
    assert [(t, c.status) for t, c in again] == [(96, "firing")]


def test_a_share_under_the_bound_or_too_few_records_never_fires() -> None:
    rule = DeadLetterRate(max_share=0.05, window_s=10, min_records=50, fire_after_s=0)
    changes, _ = _feed(rule, 0, 60, 100, 0.04, 0)
    assert changes == []
    sparse = DeadLetterRate(max_share=0.05, window_s=10, min_records=500, fire_after_s=0)
    changes, _ = _feed(sparse, 0, 60, 20, 0.5, 0)  # 200 records per window < 500
    assert changes == []


def test_dead_letter_rate_snapshot_restores_the_same_future() -> None:
    a = DeadLetterRate(max_share=0.05, window_s=10, min_records=50, fire_after_s=5,
                       resolve_after_s=8)
    _, end = _feed(a, 0, 20, 100, 0.0, 0)
    _, end = _feed(a, 20, 26, 100, 0.2, end)  # bad since 22, not yet firing
    b = DeadLetterRate(max_share=0.05, window_s=10, min_records=50, fire_after_s=5,
                       resolve_after_s=8)
    b.restore(json.loads(json.dumps(a.snapshot())))
    assert b.snapshot() == a.snapshot()
    for rule in (a, b):
        more, end2 = _feed(rule, 33, 50, 100, 0.2, end)
        rest, _ = _feed(rule, 50, 80, 100, 0.0, end2)
        rule.result = [(t, c) for t, c in more + rest]  # type: ignore[attr-defined]
    assert a.result == b.result and [c.status for _, c in a.result] == [  # type: ignore[attr-defined]
        "firing", "resolved"]


def test_consumer_lag_fires_after_sustained_lag_resolves_and_fires_again() -> None:
    rule = ConsumerLag(max_lag=1000, fire_after_s=20, resolve_after_s=10)
    key = ("inferwatch.monitor", "inferwatch.predictions")
    timeline = [(t, 5000 if 10 <= t < 50 or 80 <= t < 120 else 10) for t in range(0, 130, 2)]
    changes = [(t, c.status, c.evidence["lag"]) for t, lag in timeline
               for c in rule.evaluate({key: lag}, now=float(t))]
    # a blip shorter than fire_after_s pages no one: lag from 10 s, page at 30 s
    assert changes == [(30, "firing", 5000.0), (60, "resolved", 10.0),
                       (100, "firing", 5000.0)]


def test_consumer_lag_of_a_vanished_group_resolves_and_state_round_trips() -> None:
    rule = ConsumerLag(max_lag=100, fire_after_s=0, resolve_after_s=5)
    assert [c.status for c in rule.evaluate({("g", "t"): 500}, now=0.0)] == ["firing"]
    copy = ConsumerLag(max_lag=100, fire_after_s=0, resolve_after_s=5)
    copy.restore(json.loads(json.dumps(rule.snapshot())))
    for r in (rule, copy):
        assert r.evaluate({}, now=1.0) == []
        [resolved] = r.evaluate({}, now=6.0)
        assert (resolved.status, resolved.parts, resolved.starts_at) == (
            "resolved", ("g", "t"), 0.0)


def test_an_alert_reopened_after_a_restart_resolves() -> None:
    c = SustainedCondition(fire_after_s=5, resolve_after_s=5)
    c.open("k", starts_at=100.0)
    assert c.firing == ["k"] and c.starts_at("k") == 100.0
    assert c.observe("k", False, now=200.0) is None
    t = c.observe("k", False, now=205.0)
    assert t is not None and (t.status, t.starts_at, t.ends_at) == ("resolved", 100.0, 205.0)
    assert c.firing == [] and c.snapshot() == {}


def test_bad_hyper_parameters_name_the_valid_values() -> None:
    with pytest.raises(ValueError, match=r"max_share must be in \(0.0, 1.0\)"):
        DeadLetterRate(max_share=0.0)
    with pytest.raises(ValueError, match="max_lag"):
        ConsumerLag(max_lag=0)
    with pytest.raises(ValueError, match="fire_after_s"):
        SustainedCondition(fire_after_s=-1)
