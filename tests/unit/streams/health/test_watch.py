"""Health alerts: one identity per fault from firing to resolve, across a restart."""

from __future__ import annotations

import os

import pytest

from detectors.fingerprint import fingerprint
from streams.health.watch import HealthWatch, model_of
from streams.settings import HealthSettings
from streams.wire.dead_letter import H_KIND, H_TOPIC

SETTINGS = dict(dead_letter_share=0.05, dead_letter_window_s=10, dead_letter_min_records=50,
                schema_fire_after_s=3, schema_resolve_after_s=5, lag_max=1000,
                lag_fire_after_s=10, lag_resolve_after_s=5)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


def _watch() -> HealthWatch:
    return HealthWatch(HealthSettings(**SETTINGS), "http://dash")  # type: ignore[arg-type]


def _second(watch: HealthWatch, t: int, bad: int, lag: int = 0) -> list:  # type: ignore[type-arg]
    headers = [(H_TOPIC, b"p.requests"), (H_KIND, b"malformed")]
    watch.dead_letters([(headers, b"\x00garbage", float(t))] * bad)
    watch.volumes({"p.requests": 100 * t}, now=float(t))
    return watch.evaluate({("p.monitor", "p.predictions"): lag}, now=float(t))


def test_model_of_reads_the_model_or_says_every_model() -> None:
    assert model_of(b'{"id": "r1", "model": "churn", "features": 3}') == "churn"
    assert model_of(b"\x00garbage") == "*"
    assert model_of(b'{"id": "r1"}') == "*" and model_of(None) == "*"


def test_schema_alert_keeps_its_identity_through_a_restart_and_resolves() -> None:
    watch = _watch()
    alerts = [a for t in range(1, 20) for a in _second(watch, t, 20)]
    assert [a.status for a in alerts] == ["firing"]
    fired = alerts[0]
    assert fired.fingerprint == fingerprint("*", "schema",
                                            "source_topic=p.requests,reason=malformed")
    assert fired.labels == {"alertname": "schema", "model": "*", "detector": "schema",
                            "severity": "page", "source_topic": "p.requests",
                            "reason": "malformed"}
    assert "every model" in fired.annotations["summary"] and fired.evidence["share"] > 0.05
    # a restarted worker knows only what the alerts topic says
    again = _watch()
    assert again.adopt([fired]) == [fired.fingerprint]
    later = [a for t in range(30, 60) for a in _second(again, t, 0)]
    assert [a.status for a in later] == ["resolved"]
    resolved = later[0]
    assert (resolved.fingerprint, resolved.labels) == (fired.fingerprint, fired.labels)
    assert resolved.starts_at == fired.starts_at and resolved.ends_at == 35.0
    assert resolved.evidence["share"] == 0.0  # the evidence now


def test_an_alert_already_resolved_is_not_reopened() -> None:
    watch = _watch()
    alerts = [a for t in range(1, 20) for a in _second(watch, t, 20)]
    alerts += [a for t in range(20, 60) for a in _second(watch, t, 0)]
    assert [a.status for a in alerts] == ["firing", "resolved"]
    assert _watch().adopt(alerts) == []


def test_lag_alert_fires_resolves_and_names_group_and_topic() -> None:
    watch = _watch()
    lags = [5000] * 15 + [0] * 10
    alerts = [a for t, lag in enumerate(lags, start=1) for a in _second(watch, t, 0, lag)]
    assert [(a.status, a.labels["group"], a.labels["topic"], a.labels["model"])
            for a in alerts] == [("firing", "p.monitor", "p.predictions", "*"),
                                 ("resolved", "p.monitor", "p.predictions", "*")]
    assert alerts[0].fingerprint == alerts[1].fingerprint
    assert "5000 records behind" in alerts[0].annotations["summary"]
    assert alerts[1].evidence["lag"] == 0.0
