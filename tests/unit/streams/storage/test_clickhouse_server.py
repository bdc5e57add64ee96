"""A ClickHouse server's credentials and TLS, against a local fake of its HTTP interface.

No ClickHouse server can run here (DESIGN.md), so a small HTTPS server on 127.0.0.1,
with a certificate made by openssl at test time, answers as ClickHouse does when it
refuses a password (HTTP 403, exception code 516). It records what the client sent: the
user and password do reach the server, and the password appears in no log and no error.
"""

from __future__ import annotations

import base64
import logging
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.errors import ConfigError, SinkError
from streams.settings import ClickHouseSettings, load
from streams.storage.clickhouse_store import ClickHouseStore

PASSWORD = "s3cret-Pa55word-4711"
REFUSAL = (b"Code: 516. DB::Exception: ingest: Authentication failed: password is incorrect, "
           b"or there is no user with such name. (AUTHENTICATION_FAILED)")


class FakeServer:
    """Refuses every request as ClickHouse refuses a wrong password; keeps the headers."""

    def __init__(self, tmp: Path) -> None:
        self.ca = tmp / "cert.pem"
        key = tmp / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(self.ca)],
                       check=True, capture_output=True)
        self.seen: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                outer.seen.append(dict(self.headers))
                self.send_response(403)
                self.send_header("X-ClickHouse-Exception-Code", "516")
                self.send_header("Content-Length", str(len(REFUSAL)))
                self.end_headers()
                self.wfile.write(REFUSAL)

            do_GET = do_POST = _refuse

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeServer]:
    fake = FakeServer(tmp_path)
    yield fake
    fake.server.shutdown()


def _open(server: FakeServer, **kwargs: object) -> SinkError:
    with pytest.raises(SinkError) as info:
        ClickHouseStore(server.url, user="ingest", password=SecretStr(PASSWORD),
                        sleep=lambda s: None, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_credentials_reach_the_server_and_the_password_no_log_or_error(
        server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    error = _open(server, ca_file=server.ca)
    assert server.seen, "the client never reached the server"
    auth = server.seen[0]["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"ingest:{PASSWORD}"
    assert "check INFERWATCH_CLICKHOUSE_USER" in str(error) and server.url in str(error)
    assert error.retriable is False and error.__cause__ is None
    assert PASSWORD not in str(error) and PASSWORD not in repr(error)
    assert PASSWORD not in caplog.text


def test_the_server_certificate_is_checked_unless_told_otherwise(server: FakeServer) -> None:
    untrusted = _open(server)  # the system's CAs do not know the test CA
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted) and not server.seen
    assert PASSWORD not in str(untrusted)
    with pytest.warns(Warning, match="Unverified HTTPS request"):
        _open(server, tls_verify=False)  # no check: the handshake passes, the login fails
    assert len(server.seen) == 1


def test_settings_keep_the_password_out_of_urls_logs_and_errors(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_URL", f"https://ingest:{PASSWORD}@ch:8443/db")
    with pytest.raises(ConfigError, match=r"INFERWATCH_CLICKHOUSE_URL: .*must not carry a "
                       "password") as info:
        load(ClickHouseSettings)
    assert PASSWORD not in str(info.value)
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_URL", "https://ch:8443/db")
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("INFERWATCH_CLICKHOUSE_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=r"INFERWATCH_CLICKHOUSE_CA_FILE: .*no such file"):
        load(ClickHouseSettings)
    monkeypatch.delenv("INFERWATCH_CLICKHOUSE_CA_FILE")
    settings = load(ClickHouseSettings)
    assert settings.password is not None and settings.password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())
