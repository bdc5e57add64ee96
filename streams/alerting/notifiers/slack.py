"""Post notifications to a Slack incoming webhook, escaped and rate-limited.

Every dynamic part is sanitised (no mentions, no link syntax, no control characters) and
then escaped as Slack asks (``&``, ``<``, ``>``), so only the dashboard link this module
writes is markup. Slack accepts about one message per second per webhook: a token bucket
on an injected clock spaces the posts (the wait happens in this sink's delivery worker,
so no other sink and no stream waits). The webhook URL is a secret: it is held as a
``SecretStr`` and redacted from httpx's request log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from detectors.notification import Notification
from streams.alerting.notifiers.sanitize import sanitize_value
from streams.alerting.notifiers.sink import HttpSink

__all__ = ["SlackSink", "TokenBucket", "slack_escape"]


def slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as markup.

    >>> slack_escape("a<b & c>d")
    'a&lt;b &amp; c&gt;d'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TokenBucket:
    """``burst`` tokens, refilled at ``rate_per_s``; :meth:`take` says how long to wait.

    >>> now = [0.0]
    >>> bucket = TokenBucket(rate_per_s=1.0, burst=2, clock=lambda: now[0])
    >>> [bucket.take() for _ in range(4)]
    [0.0, 0.0, 1.0, 2.0]
    """

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float]) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be in (0, inf), got {rate_per_s!r}")
        if not (isinstance(burst, int) and burst >= 1):
            raise ValueError(f"burst must be an integer in [1, inf), got {burst!r}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> float:
        """Reserve one token; return the seconds to wait before using it (0 if none)."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s


class _Redact(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<redacted>"), ()
        return True


class SlackSink(HttpSink):
    """Slack incoming-webhook sink with a token-bucket rate limit."""

    name = "slack"

    def __init__(self, webhook_url: SecretStr, *, rate_per_s: float = 1.0, burst: int = 3,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(timeout_s=timeout_s, transport=transport)
        self._url = webhook_url
        self.bucket = TokenBucket(rate_per_s, burst, clock)
        self._sleep = sleep
        logging.getLogger("httpx").addFilter(_Redact(webhook_url.get_secret_value()))

    def text(self, note: Notification) -> str:
        """The message: severity and status, summary, description, dashboard link."""
        def clean(value: object, n: int, multiline: bool = False) -> str:
            return slack_escape(sanitize_value(value, n, multiline=multiline))

        head = f"*[{clean(note.severity.upper(), 10)}] {clean(note.status.upper(), 10)}*"
        parts = [f"{head} {clean(note.annotations.get('summary', ''), 300)}",
                 clean(note.annotations.get("description", ""), 2500, multiline=True)]
        if note.generator_url:
            href = quote(sanitize_value(note.generator_url, 1000), safe=":/?=&%#;,+@!$'()*~.-_")
            parts.append(f"<{slack_escape(href)}|dashboard>")
        return "\n".join(p for p in parts if p)

    async def send(self, note: Notification) -> None:
        """Wait for a token, then post."""
        wait = self.bucket.take()
        if wait > 0:
            await self._sleep(wait)
        await super().send(note)

    def _request(self, note: Notification) -> tuple[str, Any, dict[str, str]]:
        body = {"text": self.text(note), "unfurl_links": False, "unfurl_media": False}
        return self._url.get_secret_value(), body, {}
