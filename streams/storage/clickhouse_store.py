"""ClickHouse, through clickhouse-connect: embedded chDB by default, a server by URL.

A server is reached with the configured user, password (a secret: never in a log or an
error) and TLS settings; the schema is brought up to date by migrations at start.

The only module that imports the ClickHouse client. Inserts carry a deduplication
token and are retried with capped exponential backoff (clickhouse-connect does not
retry); the high-water mark of each source partition tells a restarted sink what is
already stored.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from streams.errors import SinkError
from streams.settings import ClickHouseSettings
from streams.storage.migrations import migrate

log = logging.getLogger(__name__)

#: a retried insert adds nothing to the table nor to the views fed from it
_DEDUP = {"deduplicate_blocks_in_dependent_materialized_views": 1}



def _client(dsn: str, credentials: dict[str, Any]) -> Any:
    try:
        import clickhouse_connect
    except ImportError as exc:  # pragma: no cover - packaging
        raise ImportError("the ClickHouse sink needs clickhouse-connect and chdb-core: "
                          "pip install inferwatch") from exc
    if dsn.startswith("chdb://"):
        Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(dsn=dsn)
    password = credentials.get("password") or ""
    # clickhouse-connect ignores the DSN's scheme (https on a port other than 443 or 8443
    # would go out as plain http): say it
    interface = "https" if dsn.startswith("https://") else "http"
    try:
        return clickhouse_connect.get_client(dsn=dsn, interface=interface, **credentials)
    except Exception as exc:  # the driver raises many kinds; say which server and why
        # the driver does not put the password in its messages; scrub it anyway, and
        # drop the chained traceback, which holds the call's arguments
        reason = str(exc).replace(password, "***") if password else str(exc)
        auth = " (check INFERWATCH_CLICKHOUSE_USER and _PASSWORD)" if (
            "516" in reason or "AUTHENTICATION" in reason.upper()) else ""
        raise SinkError(f"cannot open ClickHouse at {_USERINFO.sub('', dsn)}{auth}: {reason}",
                        retriable=not auth) from None


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class ClickHouseStore:
    """Create the schema, insert idempotently with retries, and answer queries."""

    def __init__(self, dsn: str, *, retry_max_s: float = 30.0, max_attempts: int | None = None,
                 sleep: Callable[[float], None] = time.sleep, user: str = "",
                 password: SecretStr | None = None, tls_verify: bool = True,
                 ca_file: Path | None = None) -> None:
        self.dsn = dsn
        self.retry_max_s = retry_max_s
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._rng = random.Random(0)
        credentials: dict[str, Any] = {"verify": tls_verify}
        if user:
            credentials["username"] = user
        if password is not None:
            credentials["password"] = password.get_secret_value()
        if ca_file is not None:
            credentials["ca_cert"] = str(ca_file)
        self.client = _client(dsn, credentials)
        self.retries = 0

    @classmethod
    def open(cls, settings: ClickHouseSettings, **kwargs: Any) -> ClickHouseStore:
        """The store ``settings`` name, with their credentials and TLS settings."""
        return cls(settings.dsn, retry_max_s=settings.retry_max_s, user=settings.user,
                   password=settings.password, tls_verify=settings.tls_verify,
                   ca_file=settings.ca_file, **kwargs)

    def apply_schema(self) -> list[int]:
        """Apply the schema migrations this store lacks; return their versions."""
        return migrate(self)

    def warm_insert(self) -> None:
        """Insert one row into a table that keeps nothing, so that the first real insert
        is not the process's first: embedded chDB spends 0.6-3 s on its first insert
        (while the worker's other loops share the cores), a few ms on each after. A
        server needs no warming."""
        if not self.dsn.startswith("chdb://"):
            return
        self.command("CREATE TABLE IF NOT EXISTS warm_insert (x UInt8) ENGINE = Null")
        self.client.insert("warm_insert", [[1]], column_names=["x"])

    def command(self, sql: str) -> None:
        """Run one statement that returns no rows (DDL, a small INSERT)."""
        self.client.command(sql)

    def insert(self, table: str, columns: Sequence[str], rows: list[list[Any]], token: str) -> None:
        """Insert ``rows`` once, however often it is retried with the same ``token``."""
        self._insert(table, columns, rows, token, column_oriented=False)

    def insert_columns(self, table: str, columns: Sequence[str], data: list[list[Any]],
                       token: str) -> None:
        """Insert the rows whose values ``data`` holds a list per column, once: as
        :meth:`insert`, without the driver transposing rows into columns first."""
        self._insert(table, columns, data, token, column_oriented=True)

    def _insert(self, table: str, columns: Sequence[str], data: list[list[Any]], token: str,
                *, column_oriented: bool) -> None:
        attempt = 0
        while True:
            try:
                self.client.insert(table, data, column_names=list(columns),
                                   column_oriented=column_oriented,
                                   settings=_DEDUP | {"insert_deduplication_token": token})
                return
            except Exception as exc:  # the driver raises many kinds; retriable() sorts them
                if not retriable(exc):
                    raise SinkError(f"insert into {table} failed and retrying cannot help "
                                    f"(fix the schema or the rows): {exc}",
                                    retriable=False) from exc
                attempt += 1
                self.retries += 1
                if self.max_attempts is not None and attempt >= self.max_attempts:
                    raise SinkError(f"insert into {table} failed {attempt} times: {exc}",
                                    retriable=True) from exc
                delay = min(self.retry_max_s, 0.1 * 2 ** min(attempt, 16))
                delay *= 0.5 + self._rng.random() / 2
                log.warning("insert into %s failed (%s); retry %d in %.2fs", table, exc,
                            attempt, delay)
                self._sleep(delay)

    def high_water(self, table: str) -> dict[int, int]:
        """The largest source offset stored, per source partition."""
        result = self.client.query(
            f"SELECT src_partition, max(src_offset) FROM {table} GROUP BY src_partition")
        return {int(p): int(o) for p, o in result.result_rows}

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(self.client.query(sql, parameters=parameters).result_rows)

    def close(self) -> None:
        self.client.close()


#: Server error codes that pass: overload, timeouts, network, read-only replicas.
_TRANSIENT_CODES = frozenset({159, 202, 209, 210, 241, 242, 252, 319})
_CODE = re.compile(r"Code: (\d+)")


def retriable(exc: BaseException) -> bool:
    """Whether retrying the same insert may succeed.

    Connection failures and transient server errors (overload, timeouts) may; a server
    that rejects the rows or the schema (unknown column, type mismatch) will not.
    """
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    try:
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
    except ImportError:  # pragma: no cover - packaging
        return True
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DatabaseError):
        code = _CODE.search(str(exc))
        return code is not None and int(code.group(1)) in _TRANSIENT_CODES
    return True
