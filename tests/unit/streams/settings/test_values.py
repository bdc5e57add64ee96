"""The shared checks of settings values, alone and as the settings attach them."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.settings import AlertingSettings, ClickHouseSettings, KafkaSettings, load
from streams.settings.values import comma_names, parsed_by, readable_file, url_scheme


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("text", "names"), [
    ("", []), (" , ,", []), ("a", ["a"]), (" a ,b,, c ", ["a", "b", "c"])])
def test_comma_names_strip_and_drop_blanks(text: str, names: list[str]) -> None:
    assert comma_names(text) == names


def test_a_check_returns_the_value_or_raises_the_parsers_error() -> None:
    check = parsed_by(int)
    assert check("7") == "7"
    with pytest.raises(ValueError, match="invalid literal"):
        check("seven")


@pytest.mark.parametrize(("schemes", "message"), [
    (("http://",), "must start with http://"),
    (("http://", "https://"), "must start with http:// or https://"),
    (("http://", "https://", "chdb://"), "must start with http://, https:// or chdb://")])
def test_a_url_of_another_scheme_is_refused_naming_the_schemes(
        schemes: tuple[str, ...], message: str) -> None:
    check = url_scheme(*schemes)
    assert check("") == ""
    assert all(check(f"{s}host") == f"{s}host" for s in schemes)
    with pytest.raises(ValueError) as err:
        check("ftp://host")
    assert str(err.value) == message


def test_readable_file_wants_a_file(tmp_path: Path) -> None:
    given = tmp_path / "ca.pem"
    given.write_text("pem")
    assert readable_file(None) is None
    assert readable_file(given) == given
    for missing in (tmp_path / "absent.pem", tmp_path):  # a folder is not a file either
        with pytest.raises(ValueError, match=f"no such file: {missing}"):
            readable_file(missing)


@pytest.mark.parametrize(("cls", "var", "value", "said"), [
    (AlertingSettings, "INFERWATCH_ALERTING_WEBHOOK_URL", "hook",
     "must start with http:// or https://"),
    # the scheme is checked before the password: a URL of another scheme is named as that
    (ClickHouseSettings, "INFERWATCH_CLICKHOUSE_URL", "ftp://u:pw@host/db",
     "must start with http://, https:// or chdb://"),
    (ClickHouseSettings, "INFERWATCH_CLICKHOUSE_URL", "https://u:pw@host/db",
     "must not carry a password"),
    (ClickHouseSettings, "INFERWATCH_CLICKHOUSE_CA_FILE", "/no/such/ca.pem", "no such file"),
    (KafkaSettings, "INFERWATCH_KAFKA_SSL_CERTFILE", "/no/such/cert.pem", "no such file")])
def test_the_settings_attach_the_checks(monkeypatch: pytest.MonkeyPatch, cls: type, var: str,
                                        value: str, said: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as err:
        load(cls)
    assert f"{var}: Value error, {said}" in str(err.value)
    assert ":pw@" not in str(err.value)
