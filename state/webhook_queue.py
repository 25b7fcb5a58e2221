"""The durable webhook queue: every accepted delivery, in arrival order, until a sensor drains it.

SQLite in WAL mode (like the sync ledger): no server, safe for several processes (the receiver
writes, Dagster's sensor and the CLI read) and for a process killed at any instruction.

Durability: `synchronous=FULL`. The receiver answers 200 only after `add()` returns, and ShipStation
does not redeliver an acknowledged event, so the row must survive a power cut, not just a crash of
our process. In WAL mode NORMAL survives process crashes but may lose the last commits on power
loss or an OS crash; FULL syncs the WAL on every commit. That costs one fsync per event: nothing at
webhook rates (the receiver stores a burst of 500 concurrent deliveries in about half a second on a
2-core machine). `add_many()` commits a batch with one fsync.

Ordering: ids come from AUTOINCREMENT (never reused, even after `purge_drained()`), and SQLite has
one writer at a time, so rows become visible in id order. A cursor "last id handed to a run" never
skips an event that commits later with a smaller id.

PostgreSQL (`ML_CONNECTOR_DATABASE_URL`, or `url=`): the same table in the merchant's schema. A
sequence hands out ids before commit, so two concurrent inserters could commit out of id order;
every insert therefore runs under the store's advisory write lock (`state.backends.postgres`),
which keeps "visible in id order" true. Commits are synchronous (flushed before `add()` returns).

Sources: `source` names who delivered the event (`SOURCES`: ShipStation V1 and V2, Zoho Books,
Walmart). The table's CHECK lists them; a queue made when the list was shorter is migrated when it
is opened (`_migrate_sources`): SQLite cannot alter a CHECK, so the table is rebuilt in one
`BEGIN IMMEDIATE` transaction keeping every row, its id and the AUTOINCREMENT high-water mark;
PostgreSQL drops the old constraint and adds the new one under the store's write lock. Adding a
source is one entry in `SOURCES`; the next open migrates.

Replays: an event may carry a `delivery_key` (the receiver uses a hash of what was delivered). A
second event with the same key is not stored again: `add_once` answers the first one's id, so a
redelivery or a replayed request reaches the sensor once. Keys live as long as their rows
(`purge_drained` forgets them); after that the sync ledger still makes a repeat harmless.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from state.backends import database_url, is_postgres_url, schema_name

if TYPE_CHECKING:
    from state.backends.postgres import PgDatabase

Source = Literal["v1", "v2", "zoho", "walmart"]
SOURCES: tuple[str, ...] = ("v1", "v2", "zoho", "walmart")  # ShipStation V1, V2, Zoho Books, Walmart
MAX_BODY_CHARS = 64 * 1024
SOURCE_CHECK = "CHECK (source IN ({}))".format(", ".join(f"'{s}'" for s in SOURCES))

TABLE = f"""
CREATE TABLE IF NOT EXISTS {{table}} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    resource_type TEXT NOT NULL,
    resource_url TEXT NOT NULL,
    source TEXT NOT NULL {SOURCE_CHECK},
    body TEXT NOT NULL,
    remote TEXT NOT NULL DEFAULT '',
    drained_at REAL,
    run_key TEXT
)"""
INDEXES = "CREATE INDEX IF NOT EXISTS webhook_events_undrained ON webhook_events (id) WHERE drained_at IS NULL;\n"
SCHEMA = TABLE.format(table="webhook_events") + ";\n" + INDEXES
# A queue made before replay protection gains the column; its old rows have no key.
KEY_COLUMN = "ALTER TABLE webhook_events ADD COLUMN delivery_key TEXT"
KEY_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_key ON webhook_events (delivery_key)"
             " WHERE delivery_key IS NOT NULL")
_COLUMNS = "id, received_at, resource_type, resource_url, source, body, remote, drained_at, run_key"


@dataclass(frozen=True)
class WebhookEvent:
    """A delivery the receiver accepted, before it has an id."""

    received_at: float
    resource_type: str
    resource_url: str
    source: Source
    body: str
    remote: str = ""
    delivery_key: str | None = None  # same key, same delivery: stored once (see the module docstring)


@dataclass(frozen=True)
class StoredEvent:
    """A queued delivery; `id` is the drain cursor's unit."""

    id: int
    received_at: float
    resource_type: str
    resource_url: str
    source: str
    body: str
    remote: str = ""
    drained_at: float | None = None
    run_key: str | None = None


class WebhookStore:
    """The webhook queue at `path` (normally `<ML_CONNECTOR_HOME>/webhooks.sqlite3`); thread-safe."""

    def __init__(self, path: Path | str, *, timeout: float = 30.0, url: str | None = None) -> None:
        """The queue in the SQLite file `path`, or in PostgreSQL when `url` (or $ML_CONNECTOR_DATABASE_URL) is set."""
        self._lock = threading.Lock()
        self._pg = None
        url = database_url(path, url)
        if url:
            self.path = Path(".") if is_postgres_url(path) else Path(path)  # a URL may hold a password
            self._open_postgres(url)
            return
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # see the module docstring
        self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        with self._lock:
            self._conn.executescript(SCHEMA)
            if _sqlite_needs_migration(self._conn):  # checked again inside: another process may have done it
                with self._transaction():
                    _migrate_sqlite(self._conn)
            self._conn.executescript(INDEXES)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(webhook_events)")}
            if "delivery_key" not in columns:
                _add_key_column(self._conn)
            self._conn.execute(KEY_INDEX)

    def _open_postgres(self, url: str) -> None:
        from state.backends.postgres import PgDatabase  # psycopg is needed only by a PostgreSQL installation

        self._pg = PgDatabase(url, schema_name(), lock_name="webhooks")
        self._pg.executescript(SCHEMA)
        self._pg.executescript(KEY_COLUMN.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS") + ";" + KEY_INDEX)
        with self._pg.write():
            _migrate_postgres(self._pg)
        self._conn = self._pg  # type: ignore[assignment]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, alone among the queue's writers (SQLite's BEGIN IMMEDIATE, or the advisory lock)."""
        if self._pg is not None:
            with self._pg.write():
                yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def __enter__(self) -> WebhookStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, event: WebhookEvent) -> int:
        """Queue one event; returns its id once the row is committed to disk."""
        return self.add_many([event])[0]

    def add_many(self, events: Sequence[WebhookEvent]) -> list[int]:
        """Queue several events in one transaction (one fsync); ids in the order given."""
        rows = [_row(event) for event in events]
        with self._lock, self._transaction():
            ids = [self._conn.execute(
                "INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body, remote)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id", row).fetchone()[0] for row in rows]
        return [int(i) for i in ids if i is not None]

    def add_once(self, event: WebhookEvent) -> tuple[int, bool]:
        """Queue one event unless its `delivery_key` is queued already: (id, whether it is new)."""
        return self.add_once_many([event])[0]

    def add_once_many(self, events: Sequence[WebhookEvent]) -> list[tuple[int, bool]]:
        """`add_once` for several events in one transaction; an event without a key is always new."""
        rows = [(*_row(event), event.delivery_key) for event in events]
        with self._lock, self._transaction():
            return [self._insert_once(row) for row in rows]

    def _insert_once(self, row: tuple[object, ...]) -> tuple[int, bool]:
        # Looked up first, inside the write transaction: an INSERT that hit the unique key would still
        # use up an AUTOINCREMENT id. The unique index remains the guarantee.
        if row[-1] is not None:
            found = self._conn.execute("SELECT id FROM webhook_events WHERE delivery_key = ?", (row[-1],)).fetchone()
            if found is not None:
                return int(found[0]), False
        inserted = self._conn.execute(
            "INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body, remote, delivery_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", row).fetchone()
        return int(inserted[0]), True

    def after(self, event_id: int, limit: int = 500) -> list[StoredEvent]:
        """Events with an id greater than `event_id`, oldest first (the drain cursor's query)."""
        return self._select("WHERE id > ? ORDER BY id LIMIT ?", (event_id, limit))

    def tail(self, limit: int = 50) -> list[StoredEvent]:
        """The newest `limit` events, oldest first."""
        return list(reversed(self._select("ORDER BY id DESC LIMIT ?", (limit,))))

    def count(self, *, undrained_only: bool = False) -> int:
        where = " WHERE drained_at IS NULL" if undrained_only else ""
        return int(self._one(f"SELECT COUNT(*) FROM webhook_events{where}") or 0)

    def newest_id(self) -> int:
        """The greatest id ever queued (0 if none), purged rows included."""
        seq = self._one("SELECT pg_sequence_last_value(pg_get_serial_sequence('webhook_events', 'id'))"
                        if self._pg is not None else "SELECT seq FROM sqlite_sequence WHERE name = 'webhook_events'")
        return int(seq or 0)

    def mark_drained(self, ids: Iterable[int], run_key: str, *, now: float | None = None) -> int:
        """Record that `run_key` took these events; returns how many were not already drained."""
        stamp = time.time() if now is None else now
        params = [(stamp, run_key, int(i)) for i in ids]
        with self._lock, self._transaction():
            changed = sum(self._conn.execute(
                "UPDATE webhook_events SET drained_at = ?, run_key = ? WHERE id = ? AND drained_at IS NULL",
                p).rowcount for p in params)
        return changed

    def purge_drained(self, before: float) -> int:
        """Delete drained events received before `before` (epoch seconds); ids are never reused."""
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM webhook_events WHERE drained_at IS NOT NULL AND received_at < ?", (before,))
        return cursor.rowcount

    def _select(self, clause: str, params: tuple[object, ...]) -> list[StoredEvent]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM webhook_events {clause}", params).fetchall()
        return [StoredEvent(*row) for row in rows]

    def _one(self, sql: str) -> object:
        with self._lock:
            row = self._conn.execute(sql).fetchone()
        return row[0] if row else None


def _add_key_column(conn: sqlite3.Connection) -> None:
    try:
        conn.execute(KEY_COLUMN)
    except sqlite3.OperationalError as exc:  # a process opening the same new file added it first
        if "duplicate column" not in str(exc):
            raise


def _sqlite_needs_migration(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'webhook_events'").fetchone()
    return found is not None and SOURCE_CHECK not in found[0]


def _migrate_sqlite(conn: sqlite3.Connection) -> None:
    """Rebuild a table whose CHECK predates an entry of SOURCES, keeping rows, ids and the id high-water mark.

    Runs inside the caller's write transaction, so a second process opening the same old file waits and
    then finds the new table.
    """
    if not _sqlite_needs_migration(conn):
        return
    old = [row[1] for row in conn.execute("PRAGMA table_info(webhook_events)")]
    kept = ", ".join(c for c in [*_COLUMNS.split(", "), "delivery_key"] if c in old)
    high = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'webhook_events'").fetchone()
    conn.execute("DROP TABLE IF EXISTS webhook_events_rebuilt")
    conn.execute(TABLE.format(table="webhook_events_rebuilt"))
    conn.execute("ALTER TABLE webhook_events_rebuilt ADD COLUMN delivery_key TEXT")
    conn.execute(f"INSERT INTO webhook_events_rebuilt ({kept}) SELECT {kept} FROM webhook_events ORDER BY id")
    conn.execute("DROP TABLE webhook_events")  # its indexes go with it; the caller creates them again
    conn.execute("ALTER TABLE webhook_events_rebuilt RENAME TO webhook_events")
    if high is not None:  # AUTOINCREMENT never reuses an id, not even one whose row was purged
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'webhook_events'", (high[0],))
        conn.execute("INSERT INTO sqlite_sequence (name, seq) SELECT 'webhook_events', ? WHERE NOT EXISTS"
                     " (SELECT 1 FROM sqlite_sequence WHERE name = 'webhook_events')", (high[0],))


def _migrate_postgres(pg: PgDatabase) -> None:
    """Replace a source CHECK that lacks an entry of SOURCES (inside the caller's write transaction)."""
    checks = [(row[0], row[1]) for row in pg.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'webhook_events'::regclass AND contype = 'c'").fetchall() if "source" in row[1]]
    if checks and all(f"'{s}'" in definition for s in SOURCES for _, definition in checks):
        return
    for name, _ in checks:
        pg.execute('ALTER TABLE webhook_events DROP CONSTRAINT "{}"'.format(name.replace('"', '""')))
    pg.execute(f"ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_source_check {SOURCE_CHECK}")


def _row(event: WebhookEvent) -> tuple[object, ...]:
    if event.source not in SOURCES:
        raise ValueError(f"unknown webhook source {event.source!r}")
    if len(event.body) > MAX_BODY_CHARS:
        raise ValueError(f"webhook body over {MAX_BODY_CHARS} characters")
    return (event.received_at, event.resource_type, event.resource_url, event.source, event.body, event.remote)


QUEUE_FILE = "webhooks.sqlite3"


def queue_path(home: Path | str) -> Path:
    """Where the queue lives in the state directory (`ML_CONNECTOR_HOME`)."""
    return Path(home) / QUEUE_FILE
