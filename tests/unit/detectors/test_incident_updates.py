"""A new cause joining an open incident is notified (issue 24, item 4), once, and survives
a crash: group interval, update identity, the resolve listing every member."""

from __future__ import annotations

import json

import pytest

from detectors.alert_signal import AlertSignal
from detectors.incidents import IncidentTracker
from detectors.notification import Notification
from tests.unit.detectors.test_incidents import ManualClock
from tests.unit.detectors.test_incidents import _tracker as incidents_tracker

GI = 60.0


def _tracker(**kwargs: float) -> tuple[IncidentTracker, ManualClock]:
    """test_incidents' tracker, resolving at once, with a group wait and interval."""
    params = {"resolve_after_evaluations": 1, "group_wait_s": 0.5, "group_interval_s": GI}
    return incidents_tracker(**{**params, **kwargs})


def drift(status: str = "firing", at: float = 1000.0, feature: str = "f1") -> AlertSignal:
    return AlertSignal("churn", "prediction_drift" if not feature else "feature_drift",
                       status, at=at, segment="*", variant="A", feature=feature,
                       fingerprint=f"fp-drift-{feature}", summary="input drift",
                       evidence={"psi": 0.42})  # type: ignore[arg-type]


def srm(status: str = "firing", at: float = 1003.0) -> AlertSignal:
    return AlertSignal("churn", "experiment_srm", status, at=at, variant="B",  # type: ignore[arg-type]
                       fingerprint="fp-srm", summary="sample ratio mismatch: the router "
                       "is broken", evidence={"srm_p_value": 1e-9})


def _at(tracker: IncidentTracker, clock: ManualClock, now: float) -> list[Notification]:
    clock.now = now
    return tracker.tick()


def _opened(tracker: IncidentTracker, clock: ManualClock) -> Notification:
    assert tracker.observe(drift()) == []
    [first] = _at(tracker, clock, 1000.5)
    assert first.status == "firing" and not first.is_update
    return first


def test_a_new_cause_is_notified_after_the_group_interval_naming_it() -> None:
    tracker, clock = _tracker()
    first = _opened(tracker, clock)
    assert tracker.observe(srm()) == []  # the interval since the first runs to 1060.5
    assert tracker.next_due() == 1000.5 + GI
    assert _at(tracker, clock, 1060.4) == []
    [update] = _at(tracker, clock, 1060.5)
    assert update.status == "firing" and update.joined == ("fp-srm",)
    assert update.dedup_key.startswith(first.dedup_key + "+")
    assert update.fingerprint == first.fingerprint  # the same incident
    assert update.labels["detector"] == "experiment_srm"
    assert update.labels["cause"] == "fp-srm"
    assert update.labels["incident"] == first.labels["incident"]
    assert "experiment_srm" in update.annotations["summary"]
    lines = update.annotations["description"].splitlines()
    assert lines[0] == ("new: experiment_srm on churn/B: sample ratio mismatch: the router "
                        "is broken (srm_p_value=1e-09)")
    assert lines[1].startswith("feature_drift on churn/A/f1")
    assert update.evidence["experiment_srm.srm_p_value"] == 1e-9
    assert tracker.next_due() is None


def test_a_cause_joining_after_the_interval_is_notified_at_once() -> None:
    tracker, clock = _tracker()
    _opened(tracker, clock)
    clock.now = 1200.0
    [update] = tracker.observe(srm(at=1200.0))
    assert update.joined == ("fp-srm",)


def test_a_member_is_named_once_and_a_known_detector_only_joins() -> None:
    tracker, clock = _tracker()
    _opened(tracker, clock)
    tracker.observe(srm())
    assert len(_at(tracker, clock, 1060.5)) == 1
    # the same alert re-evaluated, cleared and fired again: nothing new
    assert tracker.observe(srm(at=1070.0)) == []
    assert tracker.observe(srm("resolved", at=1080.0)) == []
    assert tracker.observe(srm(at=1090.0)) == []
    # drift in one more feature: a detector already named, it only joins
    assert tracker.observe(drift(at=1100.0, feature="f2")) == []
    assert tracker.next_due() is None
    assert _at(tracker, clock, 2000.0) == []
    [incident] = tracker.incidents
    assert {s.fingerprint for s in incident.members} == {"fp-drift-f1", "fp-srm",
                                                         "fp-drift-f2"}


def test_a_quiet_join_rides_along_with_the_next_cause_which_heads_the_update() -> None:
    tracker, clock = _tracker()
    _opened(tracker, clock)
    tracker.observe(drift(at=1001.0, feature="f2"))
    tracker.observe(srm(at=1002.0))
    [update] = _at(tracker, clock, 1060.5)
    assert set(update.joined) == {"fp-drift-f2", "fp-srm"}
    assert update.labels["detector"] == "experiment_srm"  # headed by the new cause


def test_updates_are_at_least_a_group_interval_apart() -> None:
    tracker, clock = _tracker()
    _opened(tracker, clock)
    clock.now = 1100.0
    [u1] = tracker.observe(srm(at=1100.0))
    latency = AlertSignal("churn", "latency_burn_rate", "firing", at=1110.0,
                          fingerprint="fp-lat")
    assert tracker.observe(latency) == []
    assert tracker.next_due() == 1100.0 + GI
    [u2] = _at(tracker, clock, 1160.0)
    assert (u1.joined, u2.joined) == (("fp-srm",), ("fp-lat",))
    assert u1.dedup_key != u2.dedup_key


def test_a_cause_that_clears_before_the_interval_is_still_told() -> None:
    tracker, clock = _tracker()
    _opened(tracker, clock)
    tracker.observe(srm())
    assert tracker.observe(srm("resolved", at=1010.0)) == []
    [update] = _at(tracker, clock, 1060.5)
    assert update.joined == ("fp-srm",)
    assert update.annotations["description"].startswith("new, cleared: experiment_srm")


def test_the_resolve_lists_every_member_and_every_alert_the_episode_opened() -> None:
    tracker, clock = _tracker()
    first = _opened(tracker, clock)
    tracker.observe(srm())
    [update] = _at(tracker, clock, 1060.5)
    assert tracker.observe(srm("resolved", at=1100.0)) == []
    clock.now = 1110.0
    [resolved] = tracker.observe(drift("resolved", at=1110.0))
    assert resolved.status == "resolved" and resolved.dedup_key == first.dedup_key
    assert resolved.labels == first.labels
    lines = resolved.annotations["description"].splitlines()
    assert sorted(line.split(" on ")[0] for line in lines) == [
        "cleared: experiment_srm", "cleared: feature_drift"]
    assert resolved.episode_alerts == (first.labels, update.labels)


def test_a_refire_after_the_cooldown_is_a_new_episode_that_names_its_causes_again() -> None:
    tracker, clock = _tracker(cooldown_s=0.0)
    first = _opened(tracker, clock)
    tracker.observe(srm())
    _at(tracker, clock, 1060.5)
    tracker.observe(srm("resolved", at=1100.0))
    tracker.observe(drift("resolved", at=1110.0))
    assert _at(tracker, clock, 1111.0) == [] and tracker.incidents == []
    tracker.observe(drift(at=1200.0))
    [again] = _at(tracker, clock, 1200.5)
    assert again.dedup_key != first.dedup_key and not again.is_update
    tracker.observe(srm(at=1201.0))
    [update] = _at(tracker, clock, 1260.5)
    assert update.joined == ("fp-srm",)


def test_a_page_while_a_ticket_is_open_is_its_own_incident_and_pages() -> None:
    tracker, clock = _tracker()
    ticket = AlertSignal("churn", "latency_quantile", "firing", severity="ticket", at=1000.0)
    tracker.observe(ticket)
    [t] = _at(tracker, clock, 1000.5)
    tracker.observe(srm(at=1001.0))
    [page] = _at(tracker, clock, 1001.5)
    assert (t.severity, page.severity, page.is_update) == ("ticket", "page", False)
    assert page.labels["detector"] == "experiment_srm"


def _live_run() -> tuple[list[Notification], dict]:
    """Drift fires, the SRM joins; the router ticks each second; returns what was sent and
    the state saved between the join and the update."""
    tracker, clock = _tracker()
    sent = [*tracker.observe(drift())]
    saved: dict = {}
    for second in range(1001, 1100):
        if second == 1003:
            sent += tracker.observe(srm())
            saved = json.loads(json.dumps(tracker.snapshot()))
        sent += _at(tracker, clock, second + 0.2)  # a tick sees it a little after it fell due
    return sent, saved


def test_a_crash_between_join_and_update_sends_the_update_once_after_restore() -> None:
    sent, saved = _live_run()
    assert [(n.status, n.joined) for n in sent] == [("firing", ()), ("firing", ("fp-srm",))]
    crashed = sent[:1]  # the firing was delivered, then the worker died
    tracker, clock = _tracker()
    tracker.restore(saved)
    after = _at(tracker, clock, 5000.0)
    assert [n.dedup_key for n in crashed + after] == [n.dedup_key for n in sent]
    assert after == sent[1:]  # the same update, to the letter


def test_a_replay_of_the_alerts_remakes_the_same_notifications() -> None:
    """The router's restart: a fresh tracker replays the alerts at their event times, then
    ticks at wall time; the outbox drops every (dedup_key, status) it accepted before."""
    sent, _ = _live_run()
    for crash_after in (1, 2):
        accepted = {(n.dedup_key, n.status) for n in sent[:crash_after]}
        tracker, clock = _tracker()
        replayed = [*tracker.observe(drift()), *tracker.observe(srm())]
        replayed += _at(tracker, clock, 5000.0)
        fresh = [n for n in replayed if (n.dedup_key, n.status) not in accepted]
        assert [n.dedup_key for n in sent[:crash_after] + fresh] == [
            n.dedup_key for n in sent]


def test_snapshot_round_trips_through_json() -> None:
    tracker, clock = _tracker()
    _opened(tracker, clock)
    tracker.observe(srm())
    snap = tracker.snapshot()
    other, _ = _tracker()
    other.restore(json.loads(json.dumps(snap)))
    assert json.loads(json.dumps(other.snapshot())) == json.loads(json.dumps(snap))
    assert other.incidents == tracker.incidents


def test_group_interval_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match=r"group_interval_s must be in \[0, inf\)"):
        IncidentTracker(clock=lambda: 0.0, group_interval_s=-1.0)
