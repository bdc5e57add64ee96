"""Incident lifecycle: fingerprints, grouping, hysteresis, cooldown, inhibition."""

from __future__ import annotations

import hashlib

import pytest

from detectors.alert_signal import AlertSignal
from detectors.incidents import IncidentTracker, fingerprint, incident_fingerprint
from detectors.notification import Notification


class ManualClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _tracker(**kwargs: float) -> tuple[IncidentTracker, ManualClock]:
    clock = ManualClock(1000.0)
    params = {"resolve_after_evaluations": 3, "resolve_after_s": 1e9, "cooldown_s": 600.0}
    params.update(kwargs)
    return IncidentTracker(clock=clock, **params), clock  # type: ignore[arg-type]


def _feed(tracker: IncidentTracker, clock: ManualClock, at: float,
          *signals: AlertSignal) -> list[Notification]:
    clock.now = at
    out: list[Notification] = []
    for s in signals:
        out += tracker.observe(s)
    return out


def fire(model: str, detector: str, **kw: object) -> AlertSignal:
    return AlertSignal(model=model, detector=detector, status="firing", **kw)  # type: ignore[arg-type]


def clear(model: str, detector: str, **kw: object) -> AlertSignal:
    return AlertSignal(model=model, detector=detector, status="resolved", **kw)  # type: ignore[arg-type]


def test_fingerprint_is_a_short_sha256_of_the_triple() -> None:
    expected = hashlib.sha256(b"m\x1fpsi\x1fseg").hexdigest()[:16]
    assert fingerprint("m", "psi", "seg") == expected
    assert AlertSignal("m", "psi", "firing", segment="seg").fingerprint == expected
    # No ambiguity from separators inside the parts.
    assert fingerprint("a,b", "c") != fingerprint("a", "b,c")
    assert incident_fingerprint("m", "page") != incident_fingerprint("m", "ticket")


def test_many_alerts_of_one_model_make_one_page() -> None:
    tracker, clock = _tracker()
    drift = [fire("ranker", "psi", segment=f"feature=f{i}", evidence={"psi": 0.3 + i / 100})
             for i in range(10)]
    notes = _feed(tracker, clock, 1000.0, *drift, fire("ranker", "latency_burn_rate"),
                  fire("fraud", "psi"))
    assert [(n.model, n.status) for n in notes] == [("ranker", "firing"), ("fraud", "firing")]
    assert notes[0].dedup_key == f"{incident_fingerprint('ranker', 'page')}:1000000"
    # The same alerts again, and more detectors joining: nothing new.
    assert _feed(tracker, clock, 1060.0, *drift, fire("ranker", "ks")) == []
    (incident,) = [i for i in tracker.incidents if i.model == "ranker"]
    assert len(incident.members) == 12


def test_hysteresis_by_evaluations_resets_on_flap() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=3)
    assert len(_feed(tracker, clock, 0.0, fire("m", "psi"))) == 1
    # Two clear evaluations, then firing again: the count starts over.
    assert _feed(tracker, clock, 60.0, clear("m", "psi"), clear("m", "psi"),
                 fire("m", "psi")) == []
    assert _feed(tracker, clock, 120.0, clear("m", "psi"), clear("m", "psi")) == []
    notes = _feed(tracker, clock, 180.0, clear("m", "psi"))
    assert [(n.status, n.ends_at, n.starts_at) for n in notes] == [("resolved", 180.0, 0.0)]


def test_hysteresis_by_time_resolves_on_tick() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=100, resolve_after_s=60.0)
    _feed(tracker, clock, 0.0, fire("m", "psi"))
    assert _feed(tracker, clock, 100.0, clear("m", "psi")) == []
    clock.now = 159.0
    assert tracker.tick() == []
    clock.now = 160.0
    assert [n.status for n in tracker.tick()] == ["resolved"]


def test_cooldown_silences_flaps_and_notifies_a_lasting_recurrence() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=1, cooldown_s=600.0)
    first = _feed(tracker, clock, 0.0, fire("m", "psi"))
    resolved = _feed(tracker, clock, 100.0, clear("m", "psi"))
    assert [n.status for n in resolved] == ["resolved"]
    # Flap inside the cooldown (resolved at 100, cooldown to 700): silent both ways.
    assert _feed(tracker, clock, 200.0, fire("m", "psi")) == []
    assert _feed(tracker, clock, 250.0, clear("m", "psi")) == []
    # Fires again at 300 (the cooldown now runs from 250 to 850) and stays firing.
    assert _feed(tracker, clock, 300.0, fire("m", "psi")) == []
    clock.now = 849.0
    assert tracker.tick() == []
    clock.now = 850.0
    (again,) = tracker.tick()
    assert again.status == "firing" and again.starts_at == 300.0
    assert again.dedup_key != first[0].dedup_key
    assert again.fingerprint == first[0].fingerprint
    # A firing long after the cooldown is a new incident, notified at once.
    _feed(tracker, clock, 900.0, clear("m", "psi"))
    clock.now = 2000.0
    assert tracker.tick() == [] and tracker.incidents == []
    assert [n.status for n in _feed(tracker, clock, 2000.0, fire("m", "psi"))] == ["firing"]


def test_upstream_alert_inhibits_drift_of_the_same_model_only() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=1)
    notes = _feed(tracker, clock, 0.0,
                  fire("m", "schema", severity="ticket"),
                  fire("m", "psi", kind="drift", severity="page"),
                  fire("other", "psi", kind="drift", severity="page"))
    assert [(n.model, n.severity) for n in notes] == [("m", "ticket"), ("other", "page")]
    # Drift keeps firing while the schema alert is active: still held.
    assert _feed(tracker, clock, 60.0, fire("m", "psi", kind="drift")) == []
    # The upstream cause clears but drift persists: now it is news, and it pages.
    notes = _feed(tracker, clock, 120.0, clear("m", "schema", severity="ticket"))
    assert sorted((n.severity, n.status) for n in notes) == [("page", "firing"),
                                                             ("ticket", "resolved")]


def test_an_upstream_alert_of_every_model_inhibits_drift_of_any_model() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=1)
    notes = _feed(tracker, clock, 0.0,
                  fire("*", "schema"),
                  fire("m", "psi", kind="drift"),
                  fire("other", "psi", kind="drift"),
                  fire("other", "latency"))  # not a target kind: pages as ever
    assert sorted(n.model for n in notes) == ["*", "other"]
    assert [n.labels["detector"] for n in notes if n.model == "other"] == ["latency"]
    # drift that ends while the schema fault is open never pages anyone
    assert _feed(tracker, clock, 60.0, clear("m", "psi"), clear("other", "psi")) == []
    notes = _feed(tracker, clock, 120.0, clear("*", "schema"))
    assert [(n.model, n.status) for n in notes] == [("*", "resolved")]
    # a source of one model still holds only that model
    _feed(tracker, clock, 200.0, fire("m", "data_quality"))
    notes = _feed(tracker, clock, 210.0, fire("m", "psi", kind="drift"),
                  fire("third", "psi", kind="drift"))
    assert [n.model for n in notes] == ["third"]


def test_drift_already_notified_is_not_withdrawn_by_a_later_source() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=1)
    assert len(_feed(tracker, clock, 0.0, fire("m", "psi", kind="drift"))) == 1
    notes = _feed(tracker, clock, 10.0, fire("m", "consumer_lag", severity="ticket"))
    assert [(n.severity, n.status) for n in notes] == [("ticket", "firing")]


def test_escalation_from_ticket_to_page_pages() -> None:
    tracker, clock = _tracker(resolve_after_evaluations=1)
    assert [n.severity for n in _feed(tracker, clock, 0.0,
                                      fire("m", "burn", severity="ticket"))] == ["ticket"]
    notes = _feed(tracker, clock, 60.0, fire("m", "burn", severity="page"))
    assert sorted((n.severity, n.status) for n in notes) == [("page", "firing"),
                                                             ("ticket", "resolved")]


def test_notification_says_what_where_evidence_and_link() -> None:
    tracker, clock = _tracker()
    (note,) = _feed(tracker, clock, 5.0, fire(
        "ranker", "latency_burn_rate", variant="b", segment="region=eu",
        summary="p99 burn 14.7x over 1h", evidence={"burn_1h": 14.7, "burn_5m": 20.1},
        dashboard_url="http://grafana/d/lat?viewPanel=3"))
    assert note.labels == {"alertname": "inferwatch_latency_burn_rate", "model": "ranker",
                           "detector": "latency_burn_rate", "severity": "page",
                           "incident": note.fingerprint, "variant": "b",
                           "segment": "region=eu"}
    assert note.annotations["description"] == (
        "latency_burn_rate on ranker/b/region=eu: p99 burn 14.7x over 1h "
        "(burn_1h=14.7, burn_5m=20.1)")
    assert note.annotations["dashboard"] == note.generator_url
    assert note.evidence == {"latency_burn_rate.burn_1h": 14.7, "latency_burn_rate.burn_5m": 20.1}


def test_replay_gives_identical_notifications() -> None:
    script = [(10.0 * k + dt, s) for k in range(3)
              for dt, s in ((0.0, fire("m", "psi")), (1.0, fire("m", "ks")),
                            (2.0, clear("m", "psi")), (3.0, clear("m", "ks")))]
    runs = []
    for _ in range(2):
        tracker, clock = _tracker(resolve_after_evaluations=1, cooldown_s=0.0)
        runs.append([n for at, s in script for n in _feed(tracker, clock, at, s)])
    assert runs[0] == runs[1]
    assert [n.status for n in runs[0]] == ["firing", "resolved"] * 3


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"resolve_after_evaluations": 0}, r"resolve_after_evaluations must be an integer in \[1"),
    ({"resolve_after_s": -1.0}, r"resolve_after_s must be in \[0, inf\)"),
    ({"cooldown_s": -5.0}, r"cooldown_s must be in \[0, inf\)"),
])
def test_bad_parameters_name_the_valid_range(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IncidentTracker(clock=ManualClock(), **kwargs)


def test_group_wait_gathers_alerts_that_fire_together_into_one_notification() -> None:
    tracker, clock = _tracker(group_wait_s=2.0)
    assert tracker.next_due() is None
    assert _feed(tracker, clock, 1000.0, AlertSignal("churn", "feature_drift", "firing")) == []
    assert _feed(tracker, clock, 1000.5, AlertSignal("churn", "prediction_drift", "firing")) == []
    assert tracker.next_due() == 1002.0  # the caller ticks then, not a whole tick later
    clock.now = 1001.9
    assert tracker.tick() == []  # still waiting for more members
    clock.now = 1002.0
    [note] = tracker.tick()
    assert note.status == "firing" and note.starts_at == 1000.0
    lines = note.annotations["description"].splitlines()
    assert [line.split(" on ")[0] for line in lines] == ["feature_drift", "prediction_drift"]
    assert tracker.tick() == []  # notified once
    assert tracker.next_due() is None


def test_group_wait_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="group_wait_s must be in"):
        IncidentTracker(clock=lambda: 0.0, group_wait_s=-1.0)
