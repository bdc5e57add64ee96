"""Make label and annotation values built from event fields safe to show and to log.

Event fields (model names, segment values, feature names) come from producers we do not
control, and they end up in alert labels, chat messages and log lines. A crafted value
must not forge a log line (CR, LF, Unicode line separators), rewrite a terminal (ANSI and
other escape sequences), reorder text (bidirectional overrides), notify a whole channel
(Slack's ``<!channel>``, ``<!here>``, ``<@U123>``, ``@channel``) or disguise a link
(``<http://evil|dashboard>``). :func:`sanitize_value` neutralises all of these and caps
the length; the damage is made visible (``\\n``, ``\\x1b``), never silently kept.

Examples
--------
>>> sanitize_value("fr\\r\\nERROR forged <!channel> \\x1b[31mred")
'fr\\\\r\\\\nERROR forged ‹!channel› red'
>>> sanitize_label_name("feature-name.v2")
'feature_name_v2'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MAX_ANNOTATION_LEN", "MAX_LABEL_LEN", "sanitize_annotations",
           "sanitize_label_name", "sanitize_labels", "sanitize_value"]

MAX_LABEL_LEN = 256
MAX_ANNOTATION_LEN = 4000

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-character ESC sequences.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_LINE_BREAKS = {"\r": "\\r", "\n": "\\n", "\x85": "\\x85", "\u2028": "\\u2028",
                "\u2029": "\\u2029", "\x0b": "\\x0b", "\x0c": "\\x0c"}
# Bidirectional embeddings, overrides and isolates ("Trojan source"), zero-width marks.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Slack control sequences: <!channel>, <!here>, <!subteam^ID>, <@U123>, <#C123>, <url|text>.
_SLACK_SEQUENCE = re.compile(r"<([!@#][^<>]*|[^<>|]*\|[^<>]*)>")
_SLACK_OPENER = re.compile(r"<(?=[!@#])")  # an unclosed one could close in a later value
_SLACK_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _escape_control(ch: str) -> str:
    code = ord(ch)
    if ch in _LINE_BREAKS:
        return _LINE_BREAKS[ch]
    if ch == "\t":
        return " "
    if code < 0x20 or 0x7F <= code < 0xA0:
        return f"\\x{code:02x}"
    return ch


def sanitize_value(value: object, max_len: int = MAX_LABEL_LEN, *,
                   multiline: bool = False) -> str:
    """A printable, single-line (unless ``multiline``), mention-free copy of ``value``.

    Parameters
    ----------
    value
        Any value; it is converted with ``str``.
    max_len
        Longest result in characters; longer values are cut and end with ``…``.
    multiline
        Keep line feeds (for a description built of several lines); carriage returns
        and every other control character are still escaped.
    """
    text = _ANSI.sub("", str(value))
    text = _BIDI.sub("", text)
    text = "".join("\n" if multiline and ch == "\n" else _escape_control(ch) for ch in text)
    text = _SLACK_SEQUENCE.sub(lambda m: f"‹{m.group(1)}›", text)
    text = _SLACK_OPENER.sub("‹", text)
    text = _SLACK_BROADCAST.sub(lambda m: f"＠{m.group(1)}", text)
    if len(text) > max_len:
        text = text[: max(0, max_len - 1)] + "…"
    return text


def sanitize_label_name(name: str) -> str:
    """A Prometheus-valid label name: ``[a-zA-Z_][a-zA-Z0-9_]*``."""
    cleaned = _LABEL_NAME.sub("_", name)[:MAX_LABEL_LEN] or "_"
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"


def sanitize_labels(labels: Mapping[str, object]) -> dict[str, str]:
    """Labels with valid names and single-line values of at most ``MAX_LABEL_LEN``."""
    return {sanitize_label_name(k): sanitize_value(v, MAX_LABEL_LEN) for k, v in labels.items()}


def sanitize_annotations(annotations: Mapping[str, object]) -> dict[str, str]:
    """Annotations with valid names; ``description`` may keep line feeds, others may not."""
    return {sanitize_label_name(k): sanitize_value(v, MAX_ANNOTATION_LEN,
                                                   multiline=k == "description")
            for k, v in annotations.items()}
