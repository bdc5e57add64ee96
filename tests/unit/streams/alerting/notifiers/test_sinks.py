"""The HTTP sinks' requests, error mapping, secrets and rate limit, on httpx.MockTransport."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from pydantic import SecretStr

from streams.alerting.notifiers import (
    AlertmanagerSink,
    PagerDutySink,
    SlackSink,
    WebhookSink,
    notification_from_alert,
)
from streams.errors import SinkError
from streams.wire.events import Alert
from tests.alert_fixtures import ManualClock, make_note

ROUTING_KEY = "R0UT1NGKEY-very-secret"


class Recorder:
    """A MockTransport handler that records requests and answers a fixed status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={"status": "ok"})

    def bodies(self) -> list[object]:
        return [json.loads(r.content) for r in self.requests]


async def test_alertmanager_posts_v2_alerts_firing_then_resolved() -> None:
    rec = Recorder()
    sink = AlertmanagerSink("http://am.local:9093/", transport=httpx.MockTransport(rec),
                            clock=lambda: 2000.0, firing_ttl_s=3600.0)
    await sink.send(make_note(status="firing", at=1000.0))
    await sink.send(make_note(status="resolved", at=1000.0))
    assert [str(r.url) for r in rec.requests] == ["http://am.local:9093/api/v2/alerts"] * 2
    firing, resolved = (b[0] for b in rec.bodies())  # type: ignore[index]
    assert firing["labels"] == resolved["labels"]  # the same Alertmanager alert
    assert {k: firing["labels"][k] for k in ("alertname", "model", "detector", "severity")} == {
        "alertname": "inferwatch_latency_burn_rate", "model": "ranker",
        "detector": "latency_burn_rate", "severity": "page"}
    assert firing["annotations"]["summary"].startswith("ranker: 1 alert(s)")
    assert "burn_1h=14.7" in firing["annotations"]["description"]
    assert firing["startsAt"] == "1970-01-01T00:16:40.000Z"
    assert firing["endsAt"] == "1970-01-01T01:33:20.000Z"  # 2000 + 3600 s
    assert resolved["endsAt"] == "1970-01-01T00:17:40.000Z"  # 1060 s
    assert firing["generatorURL"] == "http://grafana.local/d/lat"
    await sink.aclose()


async def test_webhook_body_round_trips_with_an_idempotency_key() -> None:
    rec = Recorder()
    sink = WebhookSink("http://hook.local/x", token=SecretStr("tok"),
                       transport=httpx.MockTransport(rec))
    note = make_note(segment="region=eu\r\nforged")
    await sink.send(note)
    (req,) = rec.requests
    assert req.headers["Idempotency-Key"] == f"{note.dedup_key}:firing"
    assert req.headers["Authorization"] == "Bearer tok"
    body = json.loads(req.content)
    assert (body["version"], body["dedup_key"], body["status"]) == (1, note.dedup_key, "firing")
    assert body["labels"]["segment"] == "region=eu\\r\\nforged"


async def test_pagerduty_trigger_and_resolve_share_the_fingerprint(
        caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(status=202)
    sink = PagerDutySink(SecretStr(ROUTING_KEY), transport=httpx.MockTransport(rec))
    firing, resolved = make_note(status="firing"), make_note(status="resolved")
    caplog.set_level(logging.DEBUG)
    await sink.send(firing)
    await sink.send(resolved)
    trigger, resolve = rec.bodies()
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"  # type: ignore[index]
    assert trigger["dedup_key"] == resolve["dedup_key"] == firing.fingerprint  # type: ignore[index]
    assert trigger["routing_key"] == ROUTING_KEY  # type: ignore[index]
    assert trigger["payload"]["severity"] == "critical"  # type: ignore[index]
    assert trigger["links"] == [{"href": "http://grafana.local/d/lat", "text": "dashboard"}]  # type: ignore[index]
    # The key is in the request body only: not in logs, repr or errors.
    failing = PagerDutySink(SecretStr(ROUTING_KEY),
                            transport=httpx.MockTransport(Recorder(status=400)))
    with pytest.raises(SinkError) as err:
        await failing.send(firing)
    assert err.value.retriable is False
    assert ROUTING_KEY not in caplog.text + repr(sink) + str(err.value)
    with pytest.raises(ValueError, match="INFERWATCH_PAGERDUTY_ROUTING_KEY"):
        PagerDutySink(SecretStr(""))


@pytest.mark.parametrize(("answer", "retriable"), [
    (500, True), (503, True), (429, True), (400, False), (404, False),
    ("timeout", True), ("connect", True),
])
async def test_failures_map_to_sink_error(answer: object, retriable: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if answer == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if answer == "connect":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(int(answer))  # type: ignore[call-overload]

    sink = WebhookSink("http://hook.local/x", transport=httpx.MockTransport(handler))
    with pytest.raises(SinkError) as err:
        await sink.send(make_note())
    assert err.value.retriable is retriable
    assert "webhook sink, firing" in str(err.value)


async def test_slack_is_rate_limited_on_the_injected_clock(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(0.0)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    url = "https://hooks.slack.test/services/T000/B000/SECRETTOKEN"
    rec = Recorder()
    sink = SlackSink(SecretStr(url), rate_per_s=0.5, burst=2, clock=clock, sleep=sleep,
                     transport=httpx.MockTransport(rec))
    caplog.set_level(logging.INFO, logger="httpx")
    for _ in range(5):
        await sink.send(make_note())
    # Two at once (burst), then one every 2 s.
    assert waits == [2.0, 2.0, 2.0]
    assert len(rec.requests) == 5
    assert "&lt;" not in rec.bodies()[0]["text"]  # type: ignore[index]
    assert "SECRETTOKEN" not in caplog.text and "<redacted>" in caplog.text


def test_notification_from_wire_alert() -> None:
    alert = Alert(fingerprint="abc", status="firing", severity="ticket",
                  labels={"model": "m", "alertname": "x"},
                  annotations={"summary": "s", "dashboard": "http://g"}, starts_at=1.5)
    note = notification_from_alert(alert)
    assert (note.dedup_key, note.model, note.generator_url) == ("abc:1500", "m", "http://g")
