"""Crafted event fields cannot forge log lines, rewrite terminals or mention a channel."""

from __future__ import annotations

import io
import logging
import re

import numpy as np
from pydantic import SecretStr

from detectors.notification import Notification
from streams.alerting.notifiers.sanitize import (
    MAX_LABEL_LEN,
    sanitize_annotations,
    sanitize_label_name,
    sanitize_labels,
    sanitize_value,
)
from streams.alerting.notifiers.slack import SlackSink

FORGED = "churn\r\n2024-05-01 12:00:00 INFO alert resolved by admin"
MENTIONS = "<!channel> <!here> <!everyone> <@U123ABC> <#C42> <!subteam^S1|oncall> @here"
LINK = "<http://evil.example/steal|open dashboard>"
ANSI = "\x1b[2J\x1b[1;31mRED\x1b[0m\x1b]8;;http://evil\x07click\x1b]8;;\x07"


def _log_lines(message: str) -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test_sanitize")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("alert for model=%s", message)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_crlf_cannot_forge_a_log_line() -> None:
    assert len(_log_lines(FORGED)) == 2  # the attack works on a raw value...
    clean = sanitize_value(FORGED)
    assert _log_lines(clean) == ["WARNING alert for model=churn\\r\\n2024-05-01 12:00:00 INFO "
                                 "alert resolved by admin"]
    for sep in ("\u2028", "\u2029", "\x85", "\x0b", "\x0c"):
        assert sep not in sanitize_value(f"a{sep}b")


def test_ansi_and_control_characters_are_removed_or_escaped() -> None:
    clean = sanitize_value(ANSI + "\x00\x07\x7f\x9b" + "\u202eevil")
    assert clean == "REDclick\\x00\\x07\\x7f\\x9bevil"
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", clean)


def test_slack_mentions_and_links_are_neutralised() -> None:
    clean = sanitize_value(f"{MENTIONS} {LINK}", 1000)
    assert "<" not in clean and ">" not in clean
    assert "‹!channel›" in clean and "‹@U123ABC›" in clean and "＠here" in clean
    assert "‹http://evil.example/steal|open dashboard›" in clean


def test_crafted_labels_cannot_reach_slack_as_markup() -> None:
    note = Notification(
        dedup_key="k:1", fingerprint="k", status="firing", severity="page", model=FORGED,
        starts_at=0.0, ends_at=None, labels={"model": FORGED},
        annotations={"summary": f"drift on {MENTIONS}", "description": f"{LINK}\n{ANSI}"},
        evidence={}, generator_url="http://grafana.local/d/x?panel=1|<!channel>")
    text = SlackSink(SecretStr("https://hooks.slack.test/services/T/B/secret")).text(note)
    # The only Slack control sequence left is the dashboard link this module writes.
    assert re.findall(r"<[^>]*>", text) == [
        "<http://grafana.local/d/x?panel=1%7C%E2%80%B9!channel%E2%80%BA|dashboard>"]
    assert "<!" not in text and "<@" not in text and "&lt;" not in text
    assert "\r" not in text and "\x1b" not in text
    # Lines: header, the two description lines (its own line feed is kept), the link.
    assert text.count("\n") == 3


def test_labels_annotations_and_lengths() -> None:
    labels = sanitize_labels({"model": "x" * 1000, "feature-name.v2": "a\nb", "9x": "y"})
    assert labels == {"model": "x" * (MAX_LABEL_LEN - 1) + "…", "feature_name_v2": "a\\nb",
                      "_9x": "y"}
    notes = sanitize_annotations({"summary": "a\nb", "description": "a\r\nb"})
    assert notes == {"summary": "a\\nb", "description": "a\\r\nb"}
    assert sanitize_label_name("") == "_"


def test_random_strings_never_keep_control_characters() -> None:
    rng = np.random.default_rng(1)
    alphabet = [chr(c) for c in range(0, 0xA0)] + ["\u2028", "\u202e", "<", ">", "|", "!", "@"]
    for _ in range(300):
        raw = "".join(rng.choice(alphabet, size=int(rng.integers(0, 60))))
        clean = sanitize_value(raw, 500)
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]", clean), raw
        assert not re.search(r"<[!@#]|<[^<>]*\|[^<>]*>", clean), raw
