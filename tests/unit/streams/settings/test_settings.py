"""Settings from INFERWATCH_* variables: bad values fail at start, naming the variable."""

from __future__ import annotations

import math

import pytest

from streams.errors import ConfigError
from streams.settings import (
    ClickHouseSettings,
    InferenceSettings,
    KafkaSettings,
    MonitorSettings,
    WebSettings,
    load,
    parse_split,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("cls", "var", "value"), [
    (MonitorSettings, "INFERWATCH_MONITOR_WINDOW_SIZE", "-5"),
    (MonitorSettings, "INFERWATCH_MONITOR_DRIFT_ALPHA", "1.5"),
    (MonitorSettings, "INFERWATCH_MONITOR_FIRE_AFTER", "often"),
    (InferenceSettings, "INFERWATCH_INFERENCE_VARIANTS", "A=0.5"),
    (InferenceSettings, "INFERWATCH_INFERENCE_VARIANTS", "A"),
    (InferenceSettings, "INFERWATCH_INFERENCE_MAX_BATCH", "0"),
    (ClickHouseSettings, "INFERWATCH_CLICKHOUSE_URL", "ftp://x"),
    (KafkaSettings, "INFERWATCH_KAFKA_SESSION_TIMEOUT_MS", "5"),
    (WebSettings, "INFERWATCH_WEB_READY_COMMIT_AGE_S", "0"),
    (WebSettings, "INFERWATCH_WEB_LIVE_TIMEOUT_S", "soon"),
])
def test_bad_setting_raises_config_error_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, cls: type, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load(cls)
    assert var in str(info.value)
    assert repr(value) in str(info.value)


def test_two_bad_settings_are_both_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_MONITOR_WINDOW_SIZE", "-5")
    monkeypatch.setenv("INFERWATCH_MONITOR_RESOLVE_AFTER", "0")
    with pytest.raises(ConfigError) as info:
        load(MonitorSettings)
    assert "INFERWATCH_MONITOR_WINDOW_SIZE" in str(info.value)
    assert "INFERWATCH_MONITOR_RESOLVE_AFTER" in str(info.value)


def test_secret_like_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import Field
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _S(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="INFERWATCH_T_", extra="ignore")
        api_token: int = Field(1)

    monkeypatch.setenv("INFERWATCH_T_API_TOKEN", "hunter2")
    with pytest.raises(ConfigError) as info:
        load(_S)
    assert "INFERWATCH_T_API_TOKEN" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_good_settings_load_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_MONITOR_WINDOW_SIZE", "64")
    monkeypatch.setenv("INFERWATCH_INFERENCE_VARIANTS", "A=0.9, B=0.1")
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_URL", "https://db:8443/x")
    assert load(MonitorSettings).window_size == 64
    assert load(InferenceSettings).split == {"A": 0.9, "B": 0.1}
    assert load(ClickHouseSettings).dsn == "https://db:8443/x"


def test_default_clickhouse_dsn_is_embedded_chdb(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path) -> None:
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_PATH", str(tmp_path / "ch"))
    assert load(ClickHouseSettings).dsn == f"chdb://{(tmp_path / 'ch').resolve()}"


@pytest.mark.parametrize(("text", "expected"), [
    ("A=1", {"A": 1.0}),
    ("A=0.9,B=0.1", {"A": 0.9, "B": 0.1}),
    (" A = 0.5 , B=0.5 ,", {"A": 0.5, "B": 0.5}),
    ("A=0.1,B=0.2,C=0.7", {"A": 0.1, "B": 0.2, "C": 0.7}),
    ("A=1,B=0", {"A": 1.0, "B": 0.0}),
])
def test_parse_split_accepts(text: str, expected: dict[str, float]) -> None:
    got = parse_split(text)
    assert got == pytest.approx(expected)
    assert list(got) == list(expected)
    assert math.isclose(sum(got.values()), 1.0)


@pytest.mark.parametrize("text", [
    "", ",", "A", "=1", "A=0.5", "A=0.6,B=0.6", "A=1.5,B=-0.5", "A=x", "A=0.5,A=0.5",
])
def test_parse_split_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_split(text)


@pytest.mark.parametrize("text", ["A=nan", "A=inf,B=-inf", "A=nan,B=1"])
def test_parse_split_rejects_non_finite_shares(text: str) -> None:
    with pytest.raises(ValueError):
        parse_split(text)


def test_a_bad_url_is_named_without_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.errors import ConfigError
    from streams.settings import ClickHouseSettings, load

    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_URL", "ftp://admin:hunter2@db.example:21/x")
    with pytest.raises(ConfigError) as info:
        load(ClickHouseSettings)
    message = str(info.value)
    assert "INFERWATCH_CLICKHOUSE_URL" in message and "ftp://***@db.example:21/x" in message
    assert "hunter2" not in message and "admin" not in message
