"""The worker's web port: ``/metrics``, ``/livez`` and ``/readyz``, for scrapers and probes.

It serves from a daemon thread, so a scrape never waits on the event loop, and it asks
the event loop itself whether it is alive: ``/livez`` schedules a callback on the loop
with ``call_soon_threadsafe`` and answers 200 only if the loop ran it within
``live_timeout_s``. A loop blocked by a stuck call (or a dead process) is not live, and
Kubernetes restarts it. ``/readyz`` answers the :class:`~streams.telemetry.readiness.Readiness`
verdict: 200, or 503 with the reason as the body.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import Readiness

__all__ = ["WebPort"]

log = logging.getLogger(__name__)


class WebPort:
    """Serve one worker's metrics and probes on ``host:port`` (port 0: any free one)."""

    def __init__(self, *, metrics: OpsMetrics, readiness: Readiness,
                 live_timeout_s: float = 5.0) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.live_timeout_s = live_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ThreadingHTTPServer | None = None

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop whose answers make the worker live."""
        self._loop = loop

    def liveness(self) -> tuple[bool, str]:
        """Whether the watched event loop runs a callback within the timeout."""
        loop = self._loop
        if loop is None:
            return False, "no event loop yet"
        answered = threading.Event()
        try:
            loop.call_soon_threadsafe(answered.set)
        except RuntimeError:  # the loop is closed
            return False, "event loop closed"
        if not answered.wait(self.live_timeout_s):
            return False, f"event loop did not answer within {self.live_timeout_s:g}s"
        return True, "live"

    def start(self, host: str, port: int) -> int:
        """Listen and serve from a daemon thread; return the port bound."""
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in [0, 65535], got {port!r}")
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="web-port",
                         daemon=True).start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(port: WebPort) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, port.metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path == "/livez":
                ok, reason = port.liveness()
                self._answer(200 if ok else 503, reason.encode())
            elif path == "/readyz":
                verdict = port.readiness.verdict()
                self._answer(200 if verdict.ready else 503, verdict.reason.encode())
            else:
                self._answer(404, b"not found: /metrics, /livez, /readyz")

        def _answer(self, status: int, body: bytes,
                    content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("web port: " + format, *args)

    return Handler
