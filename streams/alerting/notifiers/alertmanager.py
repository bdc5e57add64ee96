"""Post notifications to Prometheus Alertmanager's v2 API (``POST /api/v2/alerts``).

Alertmanager identifies an alert by its label set, so a notification's labels are fixed
for its episode and the resolved post repeats them with ``endsAt``. A firing alert gets
``endsAt = now + firing_ttl_s``: Alertmanager resolves an alert on its own once ``endsAt``
passes (``resolve_timeout`` when absent), and we post each state change once, so the
TTL is only the safety net for a resolve that never comes.

An update (a new cause joining an open incident) has its own label set (the cause's
detector and ``cause``), so Alertmanager sees a new alert in the model's group and
notifies again after its ``group_interval``; the resolve posts every label set of the
episode (``Notification.episode_alerts``), closing them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from detectors.notification import Notification
from streams.alerting.notifiers.sanitize import (
    sanitize_annotations,
    sanitize_labels,
    sanitize_value,
)
from streams.alerting.notifiers.sink import HttpSink, rfc3339

__all__ = ["AlertmanagerSink"]


class AlertmanagerSink(HttpSink):
    """Alertmanager v2 sink.

    Parameters
    ----------
    base_url
        Alertmanager's root, e.g. ``http://127.0.0.1:9093``.
    firing_ttl_s
        How long a firing alert stays firing in Alertmanager without a resolve.
    """

    name = "alertmanager"

    def __init__(self, base_url: str, *, firing_ttl_s: float = 7 * 86_400.0,
                 timeout_s: float = 5.0, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(timeout_s=timeout_s, transport=transport)
        if not firing_ttl_s > 0:
            raise ValueError(f"firing_ttl_s must be in (0, inf), got {firing_ttl_s!r}")
        self.base_url = base_url.rstrip("/")
        self.firing_ttl_s = firing_ttl_s
        self._now = clock

    def alert_body(self, note: Notification) -> dict[str, Any]:
        """The Alertmanager ``postableAlert`` for ``note``."""
        ends = note.ends_at if note.status == "resolved" and note.ends_at is not None else (
            self._now() + self.firing_ttl_s)
        body: dict[str, Any] = {
            "labels": sanitize_labels(note.labels),
            "annotations": sanitize_annotations(
                {"summary": note.annotations.get("summary", ""),
                 "description": note.annotations.get("description", ""),
                 **{k: v for k, v in note.annotations.items()
                    if k not in ("summary", "description")}}),
            "startsAt": rfc3339(note.starts_at),
            "endsAt": rfc3339(ends),
        }
        if note.generator_url:
            body["generatorURL"] = sanitize_value(note.generator_url, 2000)
        return body

    def _request(self, note: Notification) -> tuple[str, Any, dict[str, str]]:
        bodies = [self.alert_body(note)]
        for labels in note.episode_alerts[1:]:  # the first is the note's own labels
            bodies.append({**bodies[0], "labels": sanitize_labels(labels)})
        return f"{self.base_url}/api/v2/alerts", bodies, {}
