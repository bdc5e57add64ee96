"""ClickHouse, through clickhouse-connect: embedded chDB by default, a server by URL.

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

from streams.errors import SinkError

log = logging.getLogger(__name__)

#: a retried insert adds nothing to the table nor to the views fed from it
_DEDUP = {"deduplicate_blocks_in_dependent_materialized_views": 1}

SCHEMA = Path(__file__).resolve().parent.parent / "deploy" / "clickhouse" / "schema.sql"


def _client(dsn: str) -> Any:
    try:
        import clickhouse_connect
    except ImportError as exc:  # pragma: no cover - packaging
        raise ImportError("the ClickHouse sink needs clickhouse-connect and chdb-core: "
                          "pip install inferwatch") from exc
    if dsn.startswith("chdb://"):
        Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=dsn)


class ClickHouseStore:
    """Create the schema, insert idempotently with retries, and answer queries."""

    def __init__(self, dsn: str, *, retry_max_s: float = 30.0, max_attempts: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.dsn = dsn
        self.retry_max_s = retry_max_s
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._rng = random.Random(0)
        self.client = _client(dsn)
        self.retries = 0

    def apply_schema(self, schema: Path = SCHEMA) -> None:
        for statement in filter(None, (s.strip() for s in _strip_comments(schema).split(";"))):
            self.client.command(statement)

    def insert(self, table: str, columns: Sequence[str], rows: list[list[Any]], token: str) -> None:
        """Insert ``rows`` once, however often it is retried with the same ``token``."""
        attempt = 0
        while True:
            try:
                self.client.insert(table, rows, column_names=list(columns),
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


def _strip_comments(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
