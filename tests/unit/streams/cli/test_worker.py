"""``inferwatch worker``: its config holds every settings object, each from the environment."""

from __future__ import annotations

import os
from dataclasses import fields

import pytest
from pydantic_settings import BaseSettings

from streams.app import WorkerConfig
from streams.cli.worker import worker_config
from streams.errors import ConfigError
from streams.settings import KafkaSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


def test_each_settings_field_is_loaded_and_kafka_is_the_one_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_MONITOR_WINDOW_SIZE", "321")
    monkeypatch.setenv("INFERWATCH_RETRAIN_MIN_EXAMPLES", "77")
    monkeypatch.setenv("INFERWATCH_KAFKA_BOOTSTRAP", "env:1")  # not read: kafka is given
    kafka = KafkaSettings(bootstrap="given:9092")
    cfg = worker_config(kafka, ("inference", "sink"))
    assert cfg.kafka is kafka and cfg.roles == ("inference", "sink")
    assert cfg.monitor.window_size == 321 and cfg.retrain.min_examples == 77
    for f in fields(WorkerConfig):
        value = getattr(cfg, f.name)
        if isinstance(value, BaseSettings) and f.name != "kafka":
            assert value == type(value)(), f.name  # as the environment sets it


def test_a_bad_setting_of_any_component_stops_it_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("INFERWATCH_WEB_LIVE_TIMEOUT_S", "INFERWATCH_HEALTH_INTERVAL_S",
                     "INFERWATCH_ALERTING_WEBHOOK_URL"):
        with monkeypatch.context() as env:
            env.setenv(variable, "-1")
            with pytest.raises(ConfigError, match=variable):
                worker_config(KafkaSettings(), ("sink",))
