"""The operational metrics registry and the web port that serves it with the probes."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import Readiness
from streams.telemetry.web_port import WebPort
from tests.http_probe import get


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_metrics_are_served_in_base_units() -> None:
    m = OpsMetrics()
    m.set_lag("predictions", 3, 1200)
    m.events_processed.labels(stage="monitor").inc(5000)
    m.dead_letters.labels(reason="decode").inc(2)
    for outcome in ("retry", "retry", "delivered"):
        m.observe_delivery("alertmanager", outcome)
    m.batch_duration.labels(stage="monitor").observe(0.004)
    web = WebPort(metrics=m, readiness=Readiness(max_commit_age_s=30))
    port = web.start("127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            body = resp.read()
            assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST  # what scrapers parse
    finally:
        web.stop()
    got = _samples(body.decode())
    assert got[("inferwatch_consumer_lag_records",
                (("partition", "3"), ("topic", "predictions")))] == 1200
    assert got[("inferwatch_events_processed_total", (("stage", "monitor"),))] == 5000
    assert got[("inferwatch_dead_letters_total", (("reason", "decode"),))] == 2
    assert got[("inferwatch_sink_retries_total", (("sink", "alertmanager"),))] == 2
    assert got[("inferwatch_alert_deliveries_total",
                (("outcome", "delivered"), ("sink", "alertmanager")))] == 1
    assert got[("inferwatch_batch_duration_seconds_bucket",
                (("le", "0.005"), ("stage", "monitor")))] == 1
    assert got[("inferwatch_batch_duration_seconds_sum", (("stage", "monitor"),))] == 0.004


def test_bad_port() -> None:
    web = WebPort(metrics=OpsMetrics(), readiness=Readiness(max_commit_age_s=1))
    with pytest.raises(ValueError, match=r"port must be in \[0, 65535\]"):
        web.start("127.0.0.1", 70000)



@pytest.fixture
def event_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in its own thread, as the worker's runs beside the web port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_livez_answers_while_the_event_loop_runs_and_503_while_it_is_blocked(
        event_loop_thread: asyncio.AbstractEventLoop) -> None:
    web = WebPort(metrics=OpsMetrics(), readiness=Readiness(max_commit_age_s=1),
                  live_timeout_s=0.3)
    port = web.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/livez"
    try:
        assert get(url) == (503, "no event loop yet")
        web.watch(event_loop_thread)
        assert get(url) == (200, "live")
        release = threading.Event()
        event_loop_thread.call_soon_threadsafe(release.wait, 5.0)  # a stuck callback
        started = time.monotonic()
        assert get(url) == (503, "event loop did not answer within 0.3s")
        assert 0.3 <= time.monotonic() - started < 3
        release.set()
        assert get(url) == (200, "live")
        assert get(f"http://127.0.0.1:{port}/nowhere")[0] == 404
    finally:
        web.stop()


def test_readyz_answers_the_readiness_verdict() -> None:
    now = [0.0]
    readiness = Readiness(max_commit_age_s=30, clock=lambda: now[0])
    web = WebPort(metrics=OpsMetrics(), readiness=readiness)
    port = web.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        inference = readiness.loop("inference")
        assert get(url) == (503, "inference: no partition assignment yet")
        inference.assigned(6)
        assert get(url) == (200, "ready: inference holds 6")
        now[0] = 45.0
        assert get(url) == (503, "inference: last commit 45s ago (limit 30s)")
    finally:
        web.stop()
