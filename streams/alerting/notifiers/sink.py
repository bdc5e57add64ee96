"""What every alert sink is: ``send(notification)``, raising ``SinkError`` on failure,
and ``aclose()``, which the router awaits when it stops.

:class:`HttpSink` does the HTTP part once for all sinks: an ``httpx.AsyncClient`` with a
transport seam (tests pass ``httpx.MockTransport``), and one mapping of failures to
:class:`~streams.errors.SinkError`: timeouts, connection errors, 429 and 5xx are
retriable; other 4xx are not (the request itself is wrong). Messages name the sink and
the notification, never a URL or a body, since both may hold secrets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from detectors.notification import Notification
from streams.alerting.notifiers.sanitize import sanitize_value
from streams.errors import SinkError
from streams.wire.events import Alert

__all__ = ["HttpSink", "Sink", "notification_from_alert", "notification_from_dict",
           "notification_to_dict", "rfc3339"]


class Sink(Protocol):
    """Delivers notifications to one destination."""

    name: str

    async def send(self, note: Notification) -> None:
        """Deliver ``note``; raise ``SinkError`` (with ``retriable``) when it failed."""
        ...

    async def aclose(self) -> None:
        """Release what the sink holds (connections); it sends nothing afterwards."""
        ...


def rfc3339(ts: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp with milliseconds.

    >>> rfc3339(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def notification_to_dict(note: Notification) -> dict[str, Any]:
    """A JSON-serialisable copy of ``note``."""
    return dataclasses.asdict(note)


def notification_from_dict(d: Mapping[str, Any]) -> Notification:
    """The inverse of :func:`notification_to_dict` (a spilled note from before updates
    existed has no ``joined`` or ``episode_alerts``)."""
    return Notification(**{**d, "joined": tuple(d.get("joined", ())),
                           "episode_alerts": tuple(dict(x) for x in d.get("episode_alerts", ()))})


def notification_from_alert(alert: Alert) -> Notification:
    """A notification for a wire ``Alert``; its episode key is the fingerprint and start."""
    return Notification(
        dedup_key=f"{alert.fingerprint}:{round(alert.starts_at * 1000)}",
        fingerprint=alert.fingerprint, status=alert.status, severity=alert.severity,
        model=alert.labels.get("model", ""), starts_at=alert.starts_at, ends_at=alert.ends_at,
        labels=dict(alert.labels), annotations=dict(alert.annotations),
        evidence=dict(alert.evidence),
        generator_url=alert.annotations.get("dashboard", ""))


class HttpSink:
    """Base of the HTTP sinks: a client with a transport seam and one error mapping."""

    name = "http"

    def __init__(self, *, timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be in (0, inf), got {timeout_s!r}")
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    def _request(self, note: Notification) -> tuple[str, Any, dict[str, str]]:
        """(url, JSON body, headers) for ``note``; each sink defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define _request")

    def _requests(self, note: Notification) -> list[tuple[str, Any, dict[str, str]]]:
        """Every request ``note`` takes, in order (one, unless a sink needs more)."""
        return [self._request(note)]

    async def send(self, note: Notification) -> None:
        """POST the sink's requests for ``note``; map failures to ``SinkError``.

        A retry resends them all: each is idempotent at its receiver."""
        for url, body, headers in self._requests(note):
            await self._post(note, url, body, headers)

    async def _post(self, note: Notification, url: str, body: Any,
                    headers: dict[str, str]) -> None:
        what = f"{self.name} sink, {note.status} {note.dedup_key}"
        try:
            resp = await self._client.post(url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise SinkError(f"{what}: timed out after {self.timeout_s} s; it will be retried"
                            " (the receiver may have got it: receivers dedupe by key)",
                            retriable=True) from None
        except httpx.TransportError as exc:
            raise SinkError(f"{what}: {type(exc).__name__}; it will be retried",
                            retriable=True) from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise SinkError(f"{what}: HTTP {resp.status_code}; it will be retried",
                            retriable=True)
        if resp.status_code >= 400:
            detail = sanitize_value(resp.text, 200)
            raise SinkError(f"{what}: rejected with HTTP {resp.status_code} ({detail}); "
                            "fix the sink's configuration or payload", retriable=False)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
