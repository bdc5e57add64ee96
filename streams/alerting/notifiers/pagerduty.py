"""Trigger and resolve PagerDuty incidents through the Events API v2.

``dedup_key`` is the incident's fingerprint, so PagerDuty itself folds repeated triggers
into one incident, and a resolve closes it. PagerDuty folds a trigger with an open
``dedup_key`` into its incident without paging, so an update (a new cause joining an open
incident) triggers under a key of its own, ``fingerprint:cause``; the resolve closes the
episode's every key (one event each). The routing key is a ``SecretStr``: it is
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
        """The Events v2 body for ``note`` (a resolve: of its first alert; see ``events``)."""
        return self.events(note)[0]

    def events(self, note: Notification) -> list[dict[str, Any]]:
        """The Events v2 bodies for ``note``: a trigger, or a resolve per alert it opened."""
        key = self._routing_key.get_secret_value()
        if note.status == "resolved":
            return [{"routing_key": key, "event_action": "resolve",
                     "dedup_key": _dedup_key(note.fingerprint, labels)}
                    for labels in note.episode_alerts or (note.labels,)]
        event: dict[str, Any] = {
            "routing_key": key, "event_action": "trigger",
            "dedup_key": _dedup_key(note.fingerprint, note.labels),
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
        return [event]

    def _requests(self, note: Notification) -> list[tuple[str, Any, dict[str, str]]]:
        return [(self.url, event, {}) for event in self.events(note)]


def _dedup_key(fingerprint: str, labels: dict[str, str]) -> str:
    """PagerDuty's key of one alert of an incident: the incident's, or an update's own."""
    cause = labels.get("cause")
    return fingerprint if cause is None else f"{fingerprint}:{cause}"
