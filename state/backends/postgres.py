"""PostgreSQL under the ledger, audit trail and webhook queue (psycopg 3), speaking the stores' SQLite SQL.

The stores were written for SQLite: `?` placeholders, rows read by column name, `conn.execute()` and
`conn.executemany()`, and one writer at a time (`BEGIN IMMEDIATE`). `PgDatabase` gives them the same
surface on one PostgreSQL connection so their queries stay one text for both backends:

- placeholders are rewritten `?` -> `%s` (no query of ours has a literal `?` or `%`);
- rows are `Row`s: readable by index and by column name, and unpacked like tuples;
- `write()` is a transaction that first takes a transaction-scoped advisory lock named after the
  schema and the store, so writers of one store follow one another exactly as under SQLite's
  `BEGIN IMMEDIATE`: a claim reads, decides and writes with nobody in between, and rows inserted
  under the lock commit in id order (the webhook drain cursor depends on that). The lock is
  released by the COMMIT or ROLLBACK, so a killed process never leaves it held: the server ends its
  session and rolls its transaction back.
- the schema (`ML_CONNECTOR_DATABASE_SCHEMA`) is created on first use and is the connection's
  search_path, so each merchant's tables are its own.

Durability: PostgreSQL's default `synchronous_commit=on` flushes the WAL at every commit, which is
what the webhook queue's "acknowledge only after it is on disk" needs; it is set explicitly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

Params = Sequence[Any] | None


class Row(tuple):
    """A result row read by position or by column name, like `sqlite3.Row`."""

    _index: dict[str, int]

    def __new__(cls, values: Iterable[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: psycopg.Cursor) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


def translate(query: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s`."""
    return query.replace("?", "%s")


_TYPES = ((re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", re.I),
           "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
          (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),  # PostgreSQL's REAL is 4 bytes: epoch seconds need 8
          (re.compile(r"\bBLOB\b", re.I), "BYTEA"))


def ddl(script: str) -> list[str]:
    """A SQLite table script as PostgreSQL statements (column types mapped; SQLite triggers are left out)."""
    statements = []
    for statement in re.split(r";\s*(?:\n|$)", script):
        statement = statement.strip()
        if not statement or statement.upper().startswith(("CREATE TRIGGER", "BEGIN", "END")):
            continue
        for pattern, replacement in _TYPES:
            statement = pattern.sub(replacement, statement)
        statements.append(statement)
    return statements


class PgDatabase:
    """One PostgreSQL connection in one schema, with the SQLite-like surface the stores use; thread-safe."""

    dialect = "postgresql"

    def __init__(self, url: str, schema: str, *, lock_name: str, connect_timeout: float = 30.0) -> None:
        self.schema = schema
        self._lock_key = f"ml-connector:{schema}:{lock_name}"
        self._thread_lock = threading.RLock()
        self._conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory,
                                     connect_timeout=int(connect_timeout))
        self._conn.execute("SET synchronous_commit = on")
        with self.write():
            self._conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        self._conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))

    def close(self) -> None:
        self._conn.close()

    @property
    def closed(self) -> bool:
        return self._conn.closed

    def execute(self, query: str, params: Params = None) -> psycopg.Cursor:
        with self._thread_lock:
            return self._conn.execute(translate(query), params)

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor:
        with self._thread_lock:
            cursor = self._conn.cursor()
            cursor.executemany(translate(query), list(rows))
            return cursor

    def executescript(self, script: str) -> None:
        """Run a SQLite table script (see `ddl`) under the write lock, so concurrent first opens do not race."""
        with self.write():
            for statement in ddl(script):
                self._conn.execute(statement)

    def run_ddl(self, statements: Iterable[str]) -> None:
        with self.write():
            for statement in statements:
                self._conn.execute(statement)

    @contextmanager
    def write(self) -> Iterator[PgDatabase]:
        """One transaction, alone among this store's writers (see the module docstring)."""
        with self._thread_lock, self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self._lock_key,))
            yield self


def connect(url: str, schema: str, lock_name: str) -> PgDatabase:
    return PgDatabase(url, schema, lock_name=lock_name)
