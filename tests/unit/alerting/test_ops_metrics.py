"""The operational metrics registry and its /metrics endpoint."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.ops_metrics import OpsMetrics, serve_metrics


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve_metrics(m, port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
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
    with pytest.raises(ValueError, match=r"port must be in \[0, 65535\]"):
        serve_metrics(OpsMetrics(), 70000)
