"""The ClickHouse schema as numbered migrations, each applied once and recorded.

A migration is a SQL file ``NNNN_name.sql`` shipped in ``streams/resources/clickhouse``;
``0001`` is the schema of the releases before migrations (all ``CREATE ... IF NOT
EXISTS``), so a store one of them made is upgraded in place. What is applied is recorded
in the ``schema_migrations`` table, one row per version; a migration runs only when its
version is not there. Migrations are written to be safe to apply again (``IF NOT
EXISTS``), because a crash between a statement and its record re-runs it, and two
workers starting together on one server may both apply it (the record table then
collapses the duplicate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Protocol

MIGRATIONS: Traversable = files("streams.resources") / "clickhouse"

RECORD_TABLE = "schema_migrations"
_RECORD_DDL = (f"CREATE TABLE IF NOT EXISTS {RECORD_TABLE} (version UInt32, name String, "
               "applied_at DateTime64(3) DEFAULT now64(3)) "
               "ENGINE = ReplacingMergeTree ORDER BY version")
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


class SchemaStore(Protocol):
    """What migrating needs of a store (a
    :class:`~streams.storage.clickhouse_store.ClickHouseStore`)."""

    def command(self, sql: str) -> None: ...

    def query(self, sql: str, parameters: dict[str, Any] | None = None
              ) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Migration:
    """One schema change: its version (the file's number), name and statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def parse(name: str, text: str) -> Migration:
    """The migration in file ``name`` with content ``text``.

    >>> m = parse("0002_add_x.sql", "-- why\\nALTER TABLE t ADD COLUMN x String;\\n")
    >>> (m.version, m.name, m.statements)
    (2, 'add_x', ('ALTER TABLE t ADD COLUMN x String',))
    """
    match = _NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"migration file {name!r} must be named NNNN_lower_snake.sql")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    statements = tuple(s for s in (part.strip() for part in body.split(";")) if s)
    if not statements:
        raise ValueError(f"migration {name} holds no statement")
    return Migration(int(match[1]), match[2], statements)


def load(folder: Traversable = MIGRATIONS) -> list[Migration]:
    """Every migration in ``folder``, in order; versions must run 1, 2, 3... without gaps."""
    found = sorted((parse(f.name, f.read_text()) for f in folder.iterdir()
                    if f.name.endswith(".sql")), key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations in {folder} must be numbered 1..n without gaps or "
                         f"repeats, found {versions}")
    return found


def applied(store: SchemaStore) -> set[int]:
    """The versions recorded in ``store`` (creating the record table if it is missing)."""
    store.command(_RECORD_DDL)
    return {int(v) for (v,) in store.query(f"SELECT DISTINCT version FROM {RECORD_TABLE}")}


def migrate(store: SchemaStore, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations ``store`` lacks, in order; return their versions."""
    done = applied(store)
    ran = []
    for migration in migrations if migrations is not None else load():
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.command(statement)
        store.command(f"INSERT INTO {RECORD_TABLE} (version, name) VALUES "
                      f"({migration.version}, '{migration.name}')")
        ran.append(migration.version)
    return ran
