"""An update (a new cause joining an open incident) reaches every sink as a new alert,
and the resolve closes every alert of the episode (issue 24, item 4)."""

from __future__ import annotations

import json

import httpx
from pydantic import SecretStr

from detectors.alert_signal import AlertSignal
from detectors.incidents import IncidentTracker
from detectors.notification import Notification
from streams.alerting.notifiers import (
    AlertmanagerSink,
    PagerDutySink,
    WebhookSink,
    notification_from_dict,
    notification_to_dict,
)


def _episode() -> tuple[Notification, Notification, Notification]:
    """Drift pages, a sample-ratio mismatch joins and is told, then both clear."""
    now = [0.0]
    t = IncidentTracker(clock=lambda: now[0], resolve_after_evaluations=1,
                        group_interval_s=10.0)
    drift = AlertSignal("churn", "prediction_drift", "firing", at=0.0, fingerprint="fp-d",
                        evidence={"psi": 0.4})
    srm = AlertSignal("churn", "experiment_srm", "firing", at=3.0, fingerprint="fp-s",
                      evidence={"srm_p_value": 1e-9})
    [first] = t.observe(drift)
    assert t.observe(srm) == []
    now[0] = 10.0
    [update] = t.tick()
    t.observe(AlertSignal("churn", "experiment_srm", "resolved", at=20.0, fingerprint="fp-s"))
    [resolved] = t.observe(AlertSignal("churn", "prediction_drift", "resolved", at=21.0,
                                       fingerprint="fp-d"))
    return first, update, resolved


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(202, json={})

    def bodies(self) -> list[object]:
        return [json.loads(r.content) for r in self.requests]


async def test_alertmanager_sees_the_update_as_a_new_alert_and_resolves_both() -> None:
    rec = Recorder()
    sink = AlertmanagerSink("http://am", transport=httpx.MockTransport(rec), clock=lambda: 0.0)
    first, update, resolved = _episode()
    for note in (first, update, resolved):
        await sink.send(note)
    [[a], [b], closes] = rec.bodies()  # type: ignore[misc]
    assert a["labels"]["detector"] == "prediction_drift" and "cause" not in a["labels"]
    assert (b["labels"]["detector"], b["labels"]["cause"]) == ("experiment_srm", "fp-s")
    assert a["labels"]["model"] == b["labels"]["model"]  # the same Alertmanager group
    assert [c["labels"] for c in closes] == [a["labels"], b["labels"]]
    assert all(c["endsAt"] == "1970-01-01T00:00:21.000Z" for c in closes)
    await sink.aclose()


async def test_pagerduty_triggers_the_update_under_its_own_key_and_resolves_both() -> None:
    rec = Recorder()
    sink = PagerDutySink(SecretStr("key"), transport=httpx.MockTransport(rec))
    first, update, resolved = _episode()
    for note in (first, update, resolved):
        await sink.send(note)
    bodies = rec.bodies()
    keys = [(b["event_action"], b["dedup_key"]) for b in bodies]  # type: ignore[index]
    fp = first.fingerprint
    assert keys == [("trigger", fp), ("trigger", f"{fp}:fp-s"), ("resolve", fp),
                    ("resolve", f"{fp}:fp-s")]
    assert "experiment_srm" in bodies[1]["payload"]["summary"]  # type: ignore[index]
    await sink.aclose()


async def test_webhook_body_names_the_new_member_and_the_resolve_lists_both() -> None:
    rec = Recorder()
    sink = WebhookSink("http://hook", transport=httpx.MockTransport(rec))
    first, update, resolved = _episode()
    for note in (first, update, resolved):
        await sink.send(note)
    _, u, r = rec.bodies()
    assert u["joined"] == ["fp-s"]  # type: ignore[index]
    assert u["annotations"]["description"].startswith("new: experiment_srm")  # type: ignore[index]
    assert rec.requests[1].headers["Idempotency-Key"] == f"{update.dedup_key}:firing"
    assert len(r["episode_alerts"]) == 2  # type: ignore[index, arg-type]
    lines = r["annotations"]["description"].splitlines()  # type: ignore[index]
    assert sorted(line.split(" on ")[0] for line in lines) == [
        "cleared: experiment_srm", "cleared: prediction_drift"]
    await sink.aclose()


def test_an_update_round_trips_through_the_spill_format() -> None:
    for note in _episode():
        assert notification_from_dict(json.loads(json.dumps(notification_to_dict(note)))) == note
    old = notification_to_dict(_episode()[0])
    del old["joined"], old["episode_alerts"]  # spilled before updates existed
    assert notification_from_dict(old).joined == ()
