"""``inferwatch doctor``: each check's verdict and line, without a broker."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.cli.doctor import Check, alert_sink_checks, chdb_holder, topic_checks
from streams.settings import AlertingSettings
from streams.wire.topics import Topics

TOPICS = Topics("p.")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


def _described(partitions: dict[str, int], missing: tuple[str, ...] = ()) -> list[dict]:  # type: ignore[type-arg]
    """What ``describe_topics`` answers: every topic of TOPICS, with the counts given."""
    out = []
    for name, spec in TOPICS.specs():
        if name in missing:
            out.append({"topic": name, "error_code": 3, "partitions": []})
        else:
            count = partitions.get(name, spec.partitions)
            out.append({"topic": name, "error_code": 0, "partitions": list(range(count))})
    return out


def test_a_line_says_ok_or_fail_and_only_a_failure_names_its_fix() -> None:
    assert Check("kafka", True, "b:9092, 1 broker(s)", "ignored").line() == (
        "ok   kafka: b:9092, 1 broker(s)")
    assert Check("kafka", False, "down", "INFERWATCH_KAFKA_BOOTSTRAP").line() == (
        "FAIL kafka: down -> fix: INFERWATCH_KAFKA_BOOTSTRAP")
    assert Check("kafka", False, "down").line() == "FAIL kafka: down"


def test_every_topic_with_its_partition_count_is_ok() -> None:
    checks = topic_checks(TOPICS, _described({}))
    assert [c.name for c in checks] == [f"topic {name}" for name, _ in TOPICS.specs()]
    assert all(c.ok for c in checks)
    assert checks[0].detail == f"{TOPICS.specs()[0][1].partitions} partitions"


def test_a_wrong_count_and_a_missing_topic_each_fail_naming_the_fix() -> None:
    checks = {c.name: c for c in topic_checks(
        TOPICS, _described({TOPICS.requests: 2}, missing=(TOPICS.alerts,)))}
    wrong = checks[f"topic {TOPICS.requests}"]
    need = TOPICS.partitions("requests")
    assert (wrong.ok, wrong.detail) == (False, f"2 partitions, the loops need {need}")
    assert f"recreate the topic with {need} partitions" in wrong.fix
    missing = checks[f"topic {TOPICS.alerts}"]
    assert (missing.ok, missing.detail) == (False, "missing")
    assert "inferwatch topics" in missing.fix and "INFERWATCH_KAFKA_TOPIC_PREFIX" in missing.fix
    assert sum(not c.ok for c in checks.values()) == 2


def test_a_topic_the_broker_did_not_describe_counts_as_missing() -> None:
    described = [t for t in _described({}) if t["topic"] != TOPICS.reports]
    (failed,) = [c for c in topic_checks(TOPICS, described) if not c.ok]
    assert (failed.name, failed.detail) == (f"topic {TOPICS.reports}", "missing")


def test_the_chdb_holder_is_the_pid_in_the_locked_status_file(tmp_path: Path) -> None:
    assert chdb_holder(tmp_path) is None  # never opened
    status = tmp_path / "status"
    status.write_text("PID: 4242\nStarted at: now\n")
    assert chdb_holder(tmp_path) is None  # written, but nobody holds the lock
    with status.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another open file: flock conflicts as across processes
        assert chdb_holder(tmp_path) == "PID: 4242"
    assert chdb_holder(tmp_path) is None


def test_no_sink_configured_is_one_ok_line() -> None:
    (check,) = alert_sink_checks(AlertingSettings())
    assert check.ok and check.name == "alert sinks" and "none configured" in check.detail


def test_a_sink_is_reachable_when_its_port_accepts_and_a_slack_url_keeps_its_path_secret(
        ) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        checks = list(alert_sink_checks(AlertingSettings(
            webhook_url=f"http://127.0.0.1:{port}/hook",
            slack_webhook_url=SecretStr(f"http://127.0.0.1:{port}/services/T0/B0/secret"))))
    assert [(c.name, c.ok) for c in checks] == [("webhook", True), ("slack", True)]
    assert checks[0].detail == f"http://127.0.0.1:{port}/hook accepts connections"
    assert "secret" not in checks[1].line() and "http://127.0.0.1/..." in checks[1].detail


def test_a_sink_that_refuses_fails_naming_its_setting() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        (check,) = alert_sink_checks(AlertingSettings(webhook_url=f"http://127.0.0.1:{port}/h"))
    assert not check.ok and "cannot connect" in check.detail
    assert check.line().endswith("-> fix: INFERWATCH_ALERTING_WEBHOOK_URL")
