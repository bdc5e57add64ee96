"""Provision Grafana through its HTTP API: the ClickHouse data source and the dashboard.

Idempotent: the data source is created when Grafana lacks its uid and updated in place
otherwise; the dashboard is posted with ``overwrite``. Running it twice leaves Grafana as
running it once. The token is a ``SecretStr``: it goes into the Authorization header and
nowhere else (not in logs, not in errors).

The same data source and dashboard can be provisioned from files instead:
``deploy/grafana/provisioning/``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from streams.errors import ConfigError, SinkError

log = logging.getLogger(__name__)

#: package data, so an installed wheel provisions the same dashboard as a checkout
DASHBOARD: Traversable = files("streams.resources") / "grafana" / "inferwatch.json"
DATASOURCE_UID = "inferwatch-clickhouse"
DATASOURCE_TYPE = "grafana-clickhouse-datasource"


@dataclass(frozen=True)
class ClickHouseSource:
    """Where Grafana reaches inferwatch's ClickHouse (a server: Grafana cannot open chDB)."""

    host: str = "127.0.0.1"
    """ClickHouse host, as Grafana's server sees it."""
    port: int = 8123
    """8123 for http, 8443 for https, 9000 for native."""
    protocol: str = "http"
    """``http`` or ``native``."""
    username: str = "default"
    """A read-only ClickHouse user is enough."""
    password: SecretStr | None = None
    """None keeps the password Grafana already stores."""
    secure: bool = False
    """TLS to ClickHouse."""
    database: str = "default"
    """The database holding inferwatch's tables."""


def datasource_body(source: ClickHouseSource, name: str = "inferwatch ClickHouse"
                    ) -> dict[str, Any]:
    """The body Grafana's data source API takes for ``source``.

    Examples
    --------
    >>> body = datasource_body(ClickHouseSource(host="ch", password=SecretStr("pw")))
    >>> body["uid"], body["jsonData"]["host"], body["secureJsonData"]["password"]
    ('inferwatch-clickhouse', 'ch', 'pw')
    """
    body: dict[str, Any] = {
        "name": name, "uid": DATASOURCE_UID, "type": DATASOURCE_TYPE, "access": "proxy",
        "jsonData": {"host": source.host, "port": source.port, "protocol": source.protocol,
                     "username": source.username, "secure": source.secure,
                     "defaultDatabase": source.database},
    }
    if source.password is not None:
        body["secureJsonData"] = {"password": source.password.get_secret_value()}
    return body


def grafana_api(url: str, token: SecretStr) -> Any:
    """A ``grafana_client.GrafanaApi`` for ``url`` that sends ``token`` as a bearer token."""
    try:
        from grafana_client import GrafanaApi
    except ImportError as exc:  # pragma: no cover - packaging
        raise ImportError("provisioning Grafana needs grafana-client: pip install inferwatch"
                          ) from exc
    return GrafanaApi.from_url(url, credential=token.get_secret_value(), timeout=10.0)


def provision(url: str, token: SecretStr, *, source: ClickHouseSource | None = None,
              dashboard: Traversable = DASHBOARD, folder_uid: str | None = None,
              client_factory: Callable[[str, SecretStr], Any] = grafana_api) -> list[str]:
    """Create or update inferwatch's data source and dashboard in the Grafana at ``url``.

    Parameters
    ----------
    url
        Grafana's base URL, e.g. ``http://127.0.0.1:3000``.
    token
        A Grafana service-account token with the Editor role (Admin to create data sources).
    source
        Where Grafana reaches ClickHouse; the defaults suit a server on Grafana's host.
    dashboard
        The dashboard JSON to post (uid ``inferwatch``, which alerts link to).
    folder_uid
        The folder to put the dashboard in; None for the General folder.
    client_factory
        Builds the API client from ``url`` and ``token`` (tests pass a fake).

    Returns
    -------
    list[str]
        One line per thing done, e.g. ``datasource inferwatch-clickhouse: updated``.

    Raises
    ------
    ConfigError
        Grafana refused the token (401/403) or the request (400).
    SinkError
        Grafana could not be reached or failed; ``retriable`` says whether to try again.
    """
    where = _redacted(url)
    api = client_factory(url, token)
    try:
        done = [_upsert_datasource(api, datasource_body(source or ClickHouseSource())),
                _post_dashboard(api, dashboard, folder_uid)]
    except Exception as exc:  # grafana-client and niquests raise many kinds; _failure sorts
        raise _failure(exc, where) from exc
    for line in done:
        log.info("grafana %s: %s", where, line)
    return done


def _upsert_datasource(api: Any, body: dict[str, Any]) -> str:
    uid = body["uid"]
    if _exists(lambda: api.datasource.get_datasource_by_uid(uid)):
        api.datasource.update_datasource_by_uid(uid, body)
        return f"datasource {uid}: updated"
    api.datasource.create_datasource(body)
    return f"datasource {uid}: created"


def _post_dashboard(api: Any, path: Traversable, folder_uid: str | None) -> str:
    model = json.loads(path.read_text())
    model["id"] = None  # Grafana matches by uid; a stale numeric id would be refused
    payload: dict[str, Any] = {"dashboard": model, "overwrite": True,
                               "message": "provisioned by inferwatch"}
    if folder_uid is not None:
        payload["folderUid"] = folder_uid
    answer = api.dashboard.update_dashboard(payload) or {}
    return (f"dashboard {model['uid']}: {answer.get('status', 'posted')} "
            f"(version {answer.get('version', '?')}, {answer.get('url', '')})")


def _exists(get: Callable[[], Any]) -> bool:
    try:
        get()
    except Exception as exc:
        if getattr(exc, "status_code", None) == 404:
            return False
        raise
    return True


def _failure(exc: Exception, where: str) -> Exception:
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return ConfigError(f"Grafana at {where} refused the token ({status}): use a "
                           "service-account token with the Editor role (Admin for data sources)")
    if status is not None and 400 <= status < 500:
        return ConfigError(f"Grafana at {where} rejected a provisioning request ({status}): "
                           f"{exc}; check the dashboard JSON and the data source settings")
    return SinkError(f"provisioning Grafana at {where} failed: {type(exc).__name__}: {exc}; "
                     "check that Grafana is up and reachable, then run it again",
                     retriable=status is None or status >= 500)


def _redacted(url: str) -> str:
    """``url`` without user info or query (a URL may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
