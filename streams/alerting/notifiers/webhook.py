"""Post notifications as JSON to a generic webhook.

The body is the notification itself (sanitised labels and annotations) with a format
version; the ``Idempotency-Key`` header (``dedup_key:status``) lets a receiver drop the
copy a retry sends after a timeout that hid a success. An update (a new cause joining an
open incident) has ``joined`` (the new alerts' fingerprints) and a ``dedup_key`` of its
own; a resolve has ``episode_alerts``, the labels of each firing message of the episode.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from detectors.notification import Notification
from streams.alerting.notifiers.sanitize import sanitize_annotations, sanitize_labels
from streams.alerting.notifiers.sink import HttpSink, notification_to_dict

__all__ = ["WebhookSink"]

WEBHOOK_FORMAT_VERSION = 1


class WebhookSink(HttpSink):
    """Generic JSON webhook; ``token`` (optional) is sent as a bearer token, never logged."""

    name = "webhook"

    def __init__(self, url: str, *, token: SecretStr | None = None, timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(timeout_s=timeout_s, transport=transport)
        self.url = url
        self._token = token

    def _request(self, note: Notification) -> tuple[str, Any, dict[str, str]]:
        body = notification_to_dict(note)
        body["labels"] = sanitize_labels(note.labels)
        body["annotations"] = sanitize_annotations(note.annotations)
        body["episode_alerts"] = [sanitize_labels(labels) for labels in note.episode_alerts]
        body["version"] = WEBHOOK_FORMAT_VERSION
        headers = {"Idempotency-Key": f"{note.dedup_key}:{note.status}"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return self.url, body, headers
