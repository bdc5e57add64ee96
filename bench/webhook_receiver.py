"""A webhook receiver on loopback that notes when each notification arrived.

It stands in for on-call's tool at the end of the router's webhook sink
(``INFERWATCH_ALERTING_WEBHOOK_URL``): every POST is answered 200 and kept with the
receiver's ``time.time()`` at arrival, the clock the requests are stamped with.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web


def port_from_env() -> int:
    """The receiver's port: ``WEBHOOK_PORT``, default 49199 (loopback only)."""
    return int(os.environ.get("WEBHOOK_PORT", "49199"))


@dataclass(frozen=True, slots=True)
class Received:
    """One notification and when it arrived."""

    at: float
    body: dict[str, Any]


class WebhookReceiver:
    """``async with WebhookReceiver(port) as hook:`` serves ``hook.url`` until the block ends."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/notify"
        self.received: list[Received] = []
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Event()

    async def _notify(self, request: web.Request) -> web.Response:
        at = time.time()
        self.received.append(Received(at, await request.json()))
        self._arrived.set()
        return web.Response(status=200)

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/notify", self._notify)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def next_matching(self, after: int, status: str, model: str, timeout_s: float,
                            severity: str = "page") -> Received | None:
        """The first notification at index ``after`` or later with this status, model and
        severity."""
        deadline = time.monotonic() + timeout_s
        while True:
            for note in self.received[after:]:
                body = note.body
                if (body.get("status"), body.get("model"), body.get("severity")) == (
                        status, model, severity):
                    return note
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=min(left, 0.5))
