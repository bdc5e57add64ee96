"""Trigger and resolve PagerDuty incidents through the Events API v2.

``dedup_key`` is the incident's fingerprint, so PagerDuty itself folds repeated triggers
into one incident, and a resolve closes it. The routing key is a ``SecretStr``: it is
only unwrapped into the request body, never into a message, a repr or a log line.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from detectors.notification import Notification
from streams.alerting.notifiers.sanitize import sanitize_labels, sanitize_value
from streams.alerting.notifiers.sink import HttpSink, rfc3339

__all__ = ["EVENTS_V2_URL", "PagerDutySink"]

EVENTS_V2_URL = "https://events.pagerduty.com/v2/enqueue"
_SEVERITY = {"page": "critical", "ticket": "warning", "info": "info"}


class PagerDutySink(HttpSink):
    """PagerDuty Events v2 sink."""

    name = "pagerduty"

    def __init__(self, routing_key: SecretStr, *, url: str = EVENTS_V2_URL,
                 timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(timeout_s=timeout_s, transport=transport)
        if not routing_key.get_secret_value():
            raise ValueError("routing_key must not be empty: set INFERWATCH_PAGERDUTY_ROUTING_KEY")
        self._routing_key = routing_key
        self.url = url

    def event(self, note: Notification) -> dict[str, Any]:
        """The Events v2 body for ``note``."""
        key = self._routing_key.get_secret_value()
        if note.status == "resolved":
            return {"routing_key": key, "event_action": "resolve", "dedup_key": note.fingerprint}
        event: dict[str, Any] = {
            "routing_key": key, "event_action": "trigger", "dedup_key": note.fingerprint,
            "client": "inferwatch",
            "payload": {
                "summary": sanitize_value(note.annotations.get("summary", note.model), 1024),
                "source": sanitize_value(f"inferwatch/{note.model}", 255),
                "severity": _SEVERITY[note.severity],
                "timestamp": rfc3339(note.starts_at),
                "component": sanitize_value(note.model, 255),
                "class": sanitize_value(note.labels.get("detector", ""), 255),
                "custom_details": {
                    "labels": sanitize_labels(note.labels),
                    "description": sanitize_value(note.annotations.get("description", ""),
                                                  4000, multiline=True),
                    "evidence": {sanitize_value(k): v if isinstance(v, float | int)
                                 else sanitize_value(v) for k, v in note.evidence.items()},
                },
            },
        }
        if note.generator_url:
            event["links"] = [{"href": sanitize_value(note.generator_url, 2000),
                               "text": "dashboard"}]
        return event

    def _request(self, note: Notification) -> tuple[str, Any, dict[str, str]]:
        return self.url, self.event(note), {}
