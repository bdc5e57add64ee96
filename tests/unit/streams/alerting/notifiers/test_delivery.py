"""The outbox under faults: every alert arrives, none twice, no caller ever waits."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from streams.alerting.notifiers import Outbox, WebhookSink
from streams.errors import SinkError
from tests.alert_fixtures import ManualClock, make_note


class FlakyReceiver:
    """A webhook receiver: 500 until ``t_timeout``, then it receives but the answer times out
    until ``t_ok``, then 200. Like Alertmanager and PagerDuty, it dedupes by key."""

    def __init__(self, clock: ManualClock, t_timeout: float, t_ok: float) -> None:
        self.clock, self.t_timeout, self.t_ok = clock, t_timeout, t_ok
        self.raw: list[str] = []  # every request that reached it
        self.ok: list[str] = []  # requests it answered 200
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        self.times.append(self.clock.now)
        if self.clock.now < self.t_timeout:
            return httpx.Response(500)
        self.raw.append(key)
        if self.clock.now < self.t_ok:
            raise httpx.ReadTimeout("answer lost", request=request)
        self.ok.append(key)
        return httpx.Response(200)

    @property
    def notified(self) -> list[str]:
        """What on-call sees: each key once, in first-receipt order."""
        return list(dict.fromkeys(self.raw))


def _notes(n: int) -> list:
    notes = [make_note(model=f"m{i}", at=1000.0 + i) for i in range(n)]
    return [*notes, make_note(model="m0", status="resolved", at=1000.0)]


async def _drain(outbox: Outbox) -> None:
    await asyncio.wait_for(outbox.drain(), timeout=10)


async def test_500_then_timeouts_then_recovery_delivers_each_once() -> None:
    clock = ManualClock(1000.0)
    receiver = FlakyReceiver(clock, t_timeout=1030.0, t_ok=1100.0)
    sink = WebhookSink("http://hook.local/", transport=httpx.MockTransport(receiver))
    outcomes: Counter[tuple[str, str]] = Counter()
    outbox = Outbox([sink], clock=clock, sleep=clock.sleep, rng=np.random.default_rng(7),
                    base_delay_s=1.0, max_delay_s=8.0,
                    on_outcome=lambda s, o: outcomes.update([(s, o)]))
    notes = _notes(5)
    async with outbox:
        assert all(outbox.submit(n) for n in notes)  # returns at once, sink down or not
        assert not any(outbox.submit(n) for n in notes)  # a replay is dropped
        await _drain(outbox)
    expected = [f"{n.dedup_key}:{n.status}" for n in notes]
    assert receiver.notified == expected  # every alert arrived, in order, once
    assert sorted(receiver.ok) == sorted(expected)  # and was acknowledged exactly once
    assert len(receiver.raw) > len(expected)  # a timeout hid a receipt: the key saved us
    assert receiver.times[0] == 1000.0 and clock.now >= 1100.0
    assert outcomes[("webhook", "delivered")] == 6
    assert outcomes[("*", "duplicate")] == 6
    assert outcomes[("webhook", "retry")] == outbox.stats()["webhook"].retries > 0


async def test_backoff_doubles_with_seeded_equal_jitter() -> None:
    clock = ManualClock(0.0)
    receiver = FlakyReceiver(clock, t_timeout=1e9, t_ok=1e9)  # always 500
    sink = WebhookSink("http://hook.local/", transport=httpx.MockTransport(receiver))
    outbox = Outbox([sink], clock=clock, sleep=clock.sleep, rng=np.random.default_rng(42),
                    base_delay_s=0.5, max_delay_s=4.0)
    await outbox.start()
    outbox.submit(make_note())
    while len(receiver.times) < 8:
        await asyncio.sleep(0)
    await outbox.stop()
    ref = np.random.default_rng(42)
    expected = [min(4.0, 0.5 * 2 ** k) * (0.5 + 0.5 * ref.random()) for k in range(7)]
    assert np.diff(receiver.times[:8]) == pytest.approx(expected, rel=1e-9)


async def test_a_dead_sink_does_not_delay_a_healthy_one() -> None:
    clock = ManualClock(0.0)
    dead_rx = FlakyReceiver(clock, t_timeout=1e9, t_ok=1e9)
    ok_rx = FlakyReceiver(clock, t_timeout=-1.0, t_ok=-1.0)
    dead = WebhookSink("http://dead/", transport=httpx.MockTransport(dead_rx))
    dead.name = "dead"
    ok = WebhookSink("http://ok/", transport=httpx.MockTransport(ok_rx))
    outbox = Outbox([dead, ok], clock=clock, sleep=clock.sleep)
    await outbox.start()
    for n in _notes(3):
        outbox.submit(n)
    while len(ok_rx.ok) < 4:
        await asyncio.sleep(0)
    await outbox.stop()
    assert len(ok_rx.ok) == 4 and dead_rx.ok == []
    assert outbox.pending() == 4  # the dead sink's copies wait; nothing was dropped


async def test_overflow_spills_and_a_restart_resumes_in_order(tmp_path: Path) -> None:
    clock = ManualClock(0.0)
    down = FlakyReceiver(clock, t_timeout=1e9, t_ok=1e9)
    sink = WebhookSink("http://hook/", transport=httpx.MockTransport(down))
    outbox = Outbox([sink], max_queue=2, spill_dir=tmp_path, clock=clock, sleep=clock.sleep)
    notes = _notes(4)
    await outbox.start()
    for n in notes:
        outbox.submit(n)
    assert outbox.stats()["webhook"].spilled == 3
    await asyncio.sleep(0)
    await outbox.stop()  # a crash-free shutdown puts the in-memory queue back on disk
    spill = tmp_path / "webhook.outbox.jsonl"
    assert [json.loads(s)["dedup_key"] for s in spill.read_text().splitlines()] == [
        n.dedup_key for n in notes]

    up = FlakyReceiver(clock, t_timeout=-1.0, t_ok=-1.0)
    sink2 = WebhookSink("http://hook/", transport=httpx.MockTransport(up))
    restarted = Outbox([sink2], max_queue=2, spill_dir=tmp_path, clock=clock, sleep=clock.sleep)
    assert not any(restarted.submit(n) for n in notes)  # accepted keys survive the restart
    async with restarted:
        await _drain(restarted)
    assert up.notified == [f"{n.dedup_key}:{n.status}" for n in notes]
    assert restarted.pending() == 0 and spill.read_text() == ""


async def test_full_queue_without_spill_asks_the_caller_to_pause() -> None:
    clock = ManualClock(0.0)
    rx = FlakyReceiver(clock, t_timeout=-1.0, t_ok=-1.0)
    sink = WebhookSink("http://hook/", transport=httpx.MockTransport(rx))
    outbox = Outbox([sink], max_queue=2, clock=clock, sleep=clock.sleep)
    notes = _notes(2)
    outbox.submit(notes[0])
    outbox.submit(notes[1])
    with pytest.raises(SinkError, match="pause the source") as err:
        outbox.submit(notes[2])
    assert err.value.retriable
    async with outbox:
        await _drain(outbox)
        assert outbox.submit(notes[2])  # not remembered as sent when refused
        await _drain(outbox)
    assert len(rx.ok) == 3


async def test_a_rejected_notification_is_recorded_not_retried(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Idempotency-Key"])
        return httpx.Response(400 if len(calls) == 1 else 200, text="bad payload")

    clock = ManualClock(0.0)
    sink = WebhookSink("http://hook/", transport=httpx.MockTransport(handler))
    outbox = Outbox([sink], spill_dir=tmp_path, clock=clock, sleep=clock.sleep)
    notes = _notes(1)
    async with outbox:
        for n in notes:
            outbox.submit(n)
        await _drain(outbox)
    assert len(calls) == 2 and outbox.stats()["webhook"].rejected == 1
    (line,) = (tmp_path / "webhook.rejected.jsonl").read_text().splitlines()
    assert "HTTP 400" in json.loads(line)["error"]


def test_bad_parameters_name_the_valid_range() -> None:
    sink = WebhookSink("http://hook/")
    with pytest.raises(ValueError, match=r"max_queue must be an integer in \[1, inf\)"):
        Outbox([sink], max_queue=0)
    with pytest.raises(ValueError, match="unique names"):
        Outbox([sink, sink])
    with pytest.raises(ValueError, match="0 < base_delay_s <= max_delay_s"):
        Outbox([sink], base_delay_s=5.0, max_delay_s=1.0)
