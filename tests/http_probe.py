"""Ask a worker's web port: the status and body of a GET (errors included), a free port."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    """``(status, body)`` of ``GET url``; a 4xx or 5xx is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
