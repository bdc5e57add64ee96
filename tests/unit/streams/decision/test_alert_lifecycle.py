"""Every alert kind through its whole life, from the decision to the pager, on a manual clock.

Verdicts go through the model's AlertBook (hysteresis and identity), out as wire Alerts
(encoded and decoded with the real codec), into the router's view (``signal_of``) and the
IncidentTracker the router runs: fire -> resolve -> re-fire inside the cooldown (quiet) ->
still firing when the cooldown ends (a new episode) -> resolve.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.incidents import IncidentTracker
from detectors.notification import Notification
from streams.alerting.router import signal_of
from streams.decision.alert_book import AlertBook
from streams.decision.verdict import Evidence, Verdict, target_key
from streams.wire.codec import encode
from streams.wire.events import Alert, DetectorReport

COOLDOWN_S = 600.0
WINDOW_S = 60.0

# (detector, severity, target, whether the alert rule's streaks apply)
KINDS = [
    ("feature_drift", "page", {"feature": "f2", "segment": "region=eu"}, True),
    ("prediction_drift", "page", {"feature": "p_churn", "segment": "*"}, True),
    ("embedding_drift", "page", {}, True),
    ("concept_drift", "page", {}, True),
    ("data_quality", "page", {"feature": "f3", "segment": "*"}, True),
    ("latency_quantile", "ticket", {}, True),
    ("performance_estimate", "ticket", {}, True),
    ("slo_burn_rate", "page", {}, False),
    ("slo_burn_rate", "ticket", {}, False),
    ("slo_error_burn_rate", "page", {}, False),
]


def _verdict(detector: str, severity: str, target: dict[str, str], bad: bool,
             level: float) -> Verdict:
    report = DetectorReport(detector=detector, model="churn", variant="B", segment="*",
                            window_start=0.0, window_end=1.0, n=1000, statistic=level,
                            threshold=0.5, decision="drift" if bad else "ok")
    evidence: Evidence = {"level": level, **target} if bad else {"level": level}
    now = {target_key(target): {"level": level}} if target else {}
    return Verdict(detector, report, bad, evidence, severity=severity,  # type: ignore[arg-type]
                   target=target if bad else {}, now=now)


class Pipeline:
    """One model's AlertBook feeding the router's tracker over the wire."""

    def __init__(self) -> None:
        self.t = 0.0
        self.book = AlertBook(fire_after=2, resolve_after=2)
        self.tracker = IncidentTracker(clock=lambda: self.t, resolve_after_evaluations=1,
                                       cooldown_s=COOLDOWN_S)
        self.alerts: list[Alert] = []

    def window(self, verdict: Verdict, *, hysteresis: bool,
               variant: str = "B") -> list[Notification]:
        self.t += WINDOW_S
        alert = self.book.observe("churn", variant, verdict, now=self.t,
                                  describe=lambda e: f"level {e.get('level')}",
                                  dashboard="http://grafana/d/x", hysteresis=hysteresis)
        if alert is None:
            return self.tracker.tick()
        wire = msgspec.json.decode(encode(alert), type=Alert)
        self.alerts.append(wire)
        return self.tracker.observe(signal_of(wire))


@pytest.mark.parametrize(("detector", "severity", "target", "hysteresis"), KINDS)
def test_fire_resolve_cooldown_refire_for_every_kind(
        detector: str, severity: str, target: dict[str, str], hysteresis: bool) -> None:
    pipe = Pipeline()
    plan = [True, True, True, False, False, True, True] + [True] * 12 + [False] * 3
    notes: list[tuple[int, str]] = []
    for i, bad in enumerate(plan):
        v = _verdict(detector, severity, target, bad, level=0.9 if bad else 0.1)
        notes += [(i, n.status) for n in pipe.window(v, hysteresis=hysteresis)]
    steps = 2 if hysteresis else 1
    fired = steps - 1
    resolved = 3 + steps - 1
    refired = 5 + steps - 1
    # the re-fire inside the cooldown is quiet; it pages once the cooldown has passed
    cooldown_end = next(i for i in range(refired, len(plan))
                        if (i + 1) * WINDOW_S >= (resolved + 1) * WINDOW_S + COOLDOWN_S)
    assert notes == [(fired, "firing"), (resolved, "resolved"), (cooldown_end, "firing"),
                     (19 + steps - 1, "resolved")]
    # one identity from decision to pager: every event of an episode carries the same
    # fingerprint and labels; the resolve names what fired and says what it is now
    by_status = [(a.status, a.fingerprint) for a in pipe.alerts]
    assert [s for s, _ in by_status] == ["firing", "resolved", "firing", "resolved"]
    assert len({fp for _, fp in by_status}) == 1
    assert all(a.labels == pipe.alerts[0].labels for a in pipe.alerts)
    assert pipe.alerts[0].labels["severity"] == severity
    for key, value in target.items():
        assert pipe.alerts[0].labels[key] == value
        assert pipe.alerts[1].evidence[key] == value
    assert pipe.alerts[1].evidence["level"] == 0.1  # the evidence now, not at firing


def test_a_quiet_variant_resolves_nothing_while_another_fires() -> None:
    pipe = Pipeline()
    target = {"feature": "f2", "segment": "region=eu"}
    notes = []
    for _ in range(3):  # B drifts and fires; A is quiet throughout
        notes += pipe.window(_verdict("feature_drift", "page", target, True, 0.9),
                             hysteresis=True, variant="B")
        notes += pipe.window(_verdict("feature_drift", "page", target, False, 0.1),
                             hysteresis=True, variant="A")
    assert [n.status for n in notes] == ["firing"]
    assert notes[0].labels["variant"] == "B" and notes[0].labels["feature"] == "f2"
    assert all(a.labels["variant"] == "B" for a in pipe.alerts)


def test_a_group_resolves_only_when_every_member_has_and_lists_them() -> None:
    pipe = Pipeline()
    drift = {"feature": "f2", "segment": "*"}
    notes: list[Notification] = []
    for _ in range(2):  # two members of churn's page incident
        notes += pipe.window(_verdict("feature_drift", "page", drift, True, 0.9), hysteresis=True)
        notes += pipe.window(_verdict("concept_drift", "page", {}, True, 0.9), hysteresis=True)
    for _ in range(2):  # drift clears, concept drift goes on: still one open incident
        notes += pipe.window(_verdict("feature_drift", "page", drift, False, 0.1), hysteresis=True)
        notes += pipe.window(_verdict("concept_drift", "page", {}, True, 0.9), hysteresis=True)
    # concept drift joined the notified incident: a new cause, told once as an update
    # (issue 24) after the group interval
    assert [(n.status, n.is_update) for n in notes] == [("firing", False), ("firing", True)]
    assert notes[1].labels["detector"] == "concept_drift"
    for _ in range(2):
        notes += pipe.window(_verdict("concept_drift", "page", {}, False, 0.1), hysteresis=True)
    assert [n.status for n in notes] == ["firing", "firing", "resolved"]
    resolved = notes[-1]
    assert resolved.dedup_key == notes[0].dedup_key and resolved.labels == notes[0].labels
    lines = resolved.annotations["description"].splitlines()
    assert len(lines) == 2 and all(line.startswith("cleared: ") for line in lines)
    assert any("feature_drift on churn/B/f2" in line for line in lines)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(range(4)),
                          st.booleans()), min_size=1, max_size=60))
def test_every_firing_identity_gets_its_resolve_with_identical_labels(
        steps: list[tuple[str, int, bool]]) -> None:
    """Any interleaving of verdicts, then quiet: each fired identity resolves, once, alike."""
    pipe = Pipeline()
    kinds = [("feature_drift", "page", {"feature": "f1", "segment": "*"}, True),
             ("feature_drift", "page", {"feature": "f7", "segment": "device=mobile"}, True),
             ("concept_drift", "page", {}, True), ("slo_burn_rate", "ticket", {}, False)]
    for variant, k, bad in steps:
        detector, severity, target, hysteresis = kinds[k]
        pipe.window(_verdict(detector, severity, target, bad, 0.9 if bad else 0.1),
                    hysteresis=hysteresis, variant=variant)
    for variant in ("A", "B"):
        for _ in range(2):
            for detector, severity, _target, hysteresis in kinds:
                pipe.window(_verdict(detector, severity, {}, False, 0.1),
                            hysteresis=hysteresis, variant=variant)
    episodes: dict[str, list[Alert]] = {}
    for alert in pipe.alerts:
        episodes.setdefault(alert.fingerprint, []).append(alert)
    for events in episodes.values():
        statuses = [a.status for a in events]
        assert statuses == ["firing", "resolved"] * (len(events) // 2), statuses
        assert all(a.labels == events[0].labels for a in events)
    pipe.t += COOLDOWN_S + WINDOW_S
    pipe.tracker.tick()
    assert pipe.tracker.incidents == []  # every incident the router opened has closed
