"""The retrain policy on a manual clock: blips, sustained drift, cooldown, budget, labels."""

from __future__ import annotations

import pytest

from retrain.policy import RetrainPolicy


class ManualClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def test_a_blip_does_nothing() -> None:
    policy, clock = RetrainPolicy(after=3, cooldown_s=600), ManualClock()
    # drift for two windows, then good windows: the streak never reaches 3
    for streak in (1, 2, 0, 1, 0):
        assert policy.decide("churn", streak, incident_start=clock.now,
                             now=clock.advance(10)) is None


def test_sustained_drift_gives_one_request_per_incident_with_a_deterministic_id() -> None:
    policy, clock = RetrainPolicy(after=3, cooldown_s=0), ManualClock()
    decisions = [policy.decide("churn", streak, incident_start=500.0, now=clock.advance(10))
                 for streak in range(1, 9)]
    requested = [d for d in decisions if d is not None and d.status == "requested"]
    assert len(requested) == 1 and requested[0].request is not None
    assert [d.reason for d in decisions[3:] if d is not None] == [
        "suppressed: this incident already asked for a retrain"] * 5
    again = RetrainPolicy(after=3).consider("churn", 3, incident_start=500.0, now=0.0)
    assert again is not None and again.id == requested[0].request.id  # a replay: same id


def test_a_request_inside_the_cooldown_is_suppressed_and_allowed_after_it() -> None:
    policy, clock = RetrainPolicy(after=3, cooldown_s=600), ManualClock()
    first = policy.decide("churn", 3, incident_start=1.0, now=clock.now)
    assert first is not None and first.status == "requested"
    inside = policy.decide("churn", 3, incident_start=2.0, now=clock.advance(599))
    assert inside is not None and inside.status == "suppressed"
    assert inside.reason == ("suppressed: cooldown: the last request was 599 s ago, "
                             "600 s needed")
    after = policy.decide("churn", 3, incident_start=3.0, now=clock.advance(1))
    assert after is not None and after.status == "requested"
    # another model has a cooldown of its own
    other = policy.decide("fraud", 3, incident_start=2.0, now=clock.now)
    assert other is not None and other.status == "requested"


def test_the_budget_holds_under_a_storm_of_incidents() -> None:
    policy, clock = RetrainPolicy(after=1, cooldown_s=0, budget=3, budget_period_s=3600), \
        ManualClock()
    # a storm: a new incident every 10 s for an hour and a half
    statuses = []
    for i in range(540):
        d = policy.decide("churn", 5, incident_start=float(i), now=clock.advance(10))
        assert d is not None
        statuses.append((clock.now, d.status))
    times = [t for t, s in statuses if s == "requested"]
    # in any hour at most 3 requests; the budget frees up as old requests leave the hour
    for t in times:
        assert sum(1 for u in times if t - 3600 < u <= t) <= 3
    assert len(times) == 6  # two periods of 3 in 90 minutes (a period reopens after 3600 s)
    refused = [d for t, d in statuses if d == "suppressed"]
    assert len(refused) == 540 - 6
    last = policy.decide("churn", 5, incident_start=-1.0, now=clock.now)
    assert last is not None and last.reason == (
        "suppressed: budget: 3 requests in the last 3600 s, at most 3")


def test_a_retrain_needs_enough_new_labels_since_the_last_one() -> None:
    policy, clock = RetrainPolicy(after=1, cooldown_s=0, min_new_labels=500), ManualClock()
    policy.observe_labels("churn", 300)
    early = policy.decide("churn", 1, incident_start=1.0, now=clock.advance(1))
    assert early is not None and early.reason == (
        "suppressed: labels: 300 new since the last retrain, 500 needed")
    policy.observe_labels("churn", 200)
    ok = policy.decide("churn", 1, incident_start=2.0, now=clock.advance(1))
    assert ok is not None and ok.status == "requested"
    # the count starts again after a request
    later = policy.decide("churn", 1, incident_start=3.0, now=clock.advance(1))
    assert later is not None and "0 new since the last retrain" in later.reason


def test_state_survives_a_restart_and_reads_the_old_format() -> None:
    policy = RetrainPolicy(after=1, cooldown_s=600, min_new_labels=10)
    policy.observe_labels("churn", 25)
    policy.decide("churn", 1, incident_start=1.0, now=100.0)
    policy.observe_labels("churn", 4)
    restored = RetrainPolicy(after=1, cooldown_s=600, min_new_labels=10)
    restored.restore(policy.snapshot())
    assert restored.snapshot() == policy.snapshot()
    old = RetrainPolicy(after=1, cooldown_s=600)
    old.restore({"churn": [1.0, 100.0]})  # a state saved by the previous release
    suppressed = old.decide("churn", 1, incident_start=2.0, now=200.0)
    assert suppressed is not None and suppressed.reason.startswith("suppressed: cooldown")


@pytest.mark.parametrize("kwargs", [{"after": 0}, {"cooldown_s": -1}, {"min_new_labels": -1},
                                    {"budget": 0}, {"budget_period_s": 0}])
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs)).split("_s")[0]):
        RetrainPolicy(**kwargs)  # type: ignore[arg-type]
