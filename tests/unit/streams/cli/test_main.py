"""The inferwatch command line: help, and bad settings stop it with exit status 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streams.cli.main import main

SUBCOMMANDS = ("worker", "topics", "train", "simulate", "alerts", "report", "grafana",
               "doctor", "status", "summary")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Watch ML models in production" in out
    for cmd in SUBCOMMANDS:
        assert cmd in out


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_subcommand_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([cmd, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: inferwatch {cmd}")
    # a description paragraph follows the usage
    assert len(out.split("\n\n")[1].strip()) > 20
    # and it ends with a worked example of this very subcommand
    assert out.split("\n\n")[-1].startswith("example:\n  ")
    assert f"inferwatch {cmd}" in out.split("example:")[1]


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_bad_setting_returns_2_and_names_the_variable(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INFERWATCH_KAFKA_SESSION_TIMEOUT_MS", "5")
    assert main(["topics"]) == 2
    err = capsys.readouterr().err
    assert "INFERWATCH_KAFKA_SESSION_TIMEOUT_MS" in err
    assert err.startswith("inferwatch: ")


def test_unknown_role_returns_2_naming_the_valid_roles(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--roles", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "bogus" in err
    for role in ("inference", "monitor", "decide", "sink"):
        assert role in err


def test_bad_simulate_arguments_return_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--external-share", "1.5"]) == 2
    assert "external_share" in capsys.readouterr().err


def test_grafana_without_a_token_names_the_variable(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("INFERWATCH_GRAFANA_TOKEN", raising=False)
    assert main(["grafana"]) == 2
    assert "INFERWATCH_GRAFANA_TOKEN" in capsys.readouterr().err


def test_experiment_stop_names_the_setting_when_the_experiment_is_unknown(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setenv("INFERWATCH_INFERENCE_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("INFERWATCH_MONITOR_EXPERIMENTS", "churn-v2=churn:A:B:0.5")
    assert main(["experiment", "stop", "fraud-v9"]) == 2
    err = capsys.readouterr().err
    assert "INFERWATCH_MONITOR_EXPERIMENTS" in err and "['churn-v2']" in err
    monkeypatch.setenv("INFERWATCH_MONITOR_EXPERIMENTS", "churn-v2=churn:A:B:2")
    assert main(["experiment", "stop", "churn-v2"]) == 2
    assert "INFERWATCH_MONITOR_EXPERIMENTS" in capsys.readouterr().err


def test_experiment_start_refuses_what_it_cannot_start_before_writing_anything(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    from inference.registry import ModelStore

    store = ModelStore(tmp_path / "models")
    (tmp_path / "src").mkdir()
    store.publish("churn", "v1", tmp_path / "src")
    monkeypatch.setenv("INFERWATCH_INFERENCE_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("INFERWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # never reached
    cases = [(["exp"], "--model is needed"),
             (["exp", "--model", "churn", "--share", "1.5"], "SHARE must be in (0, 1)"),
             (["exp", "--model", "churn", "--challenger", "A"], "must differ"),
             (["exp", "--model", "churn", "--challenger-version", "v7"], "'v7' is not a "
              "published version of churn (it has ['v1'])"),
             (["exp/../x", "--model", "churn"], "name must be letters")]
    for argv, message in cases:
        assert main(["experiment", "start", *argv]) == 2
        assert message in capsys.readouterr().err
    assert store.experiment("churn") == {} and store.traffic("churn") == {}
