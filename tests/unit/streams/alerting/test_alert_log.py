"""One log line per alert, with control characters neutralised."""

from __future__ import annotations

import pytest

from streams.alerting.alert_log import format_alert
from streams.wire.events import Alert


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = dict(fingerprint="fp1", status="firing", severity="page",
                                   labels={"alertname": "feature_drift"},
                                   annotations={"summary": "churn/A drift",
                                                "description": "psi=0.3"},
                                   starts_at=1_700_000_000.0)
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_firing_alert_line() -> None:
    assert format_alert(_alert()) == (
        "2023-11-14T22:13:20Z FIRING   [page] churn/A drift | psi=0.3 | fp=fp1")


def test_resolved_alert_uses_end_time() -> None:
    line = format_alert(_alert(status="resolved", ends_at=1_700_000_060.0))
    assert line.startswith("2023-11-14T22:14:20Z RESOLVED [page] ")


@pytest.mark.parametrize("bad", ["\r", "\n", "\x1b", "\r\n", "\x00", "\x85", "\x7f"])
def test_control_characters_are_neutralised(bad: str) -> None:
    alert = _alert(fingerprint=f"f{bad}p",
                   annotations={"summary": f"churn{bad}FAKE 00:00 FIRING",
                                "description": f"p99{bad}=1"})
    line = format_alert(alert)
    assert len(line.splitlines()) == 1
    assert not any(c in line for c in bad)
    assert "churn" + "?" * len(bad) + "FAKE" in line
    assert "fp=f" + "?" * len(bad) + "p" in line


def test_ansi_escape_sequence_cannot_colour_the_terminal() -> None:
    line = format_alert(_alert(annotations={"summary": "\x1b[31mred\x1b[0m", "description": ""}))
    assert "\x1b" not in line
    assert "?[31mred?[0m" in line


def test_summary_falls_back_to_alertname() -> None:
    line = format_alert(_alert(annotations={}, labels={"alertname": "lat\nency"}))
    assert "[page] lat?ency | " in line
    assert "\n" not in line
