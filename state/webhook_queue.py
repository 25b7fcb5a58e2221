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
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Source = Literal["v1", "v2"]
MAX_BODY_CHARS = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    resource_type TEXT NOT NULL,
    resource_url TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('v1', 'v2')),
    body TEXT NOT NULL,
    remote TEXT NOT NULL DEFAULT '',
    drained_at REAL,
    run_key TEXT
);
CREATE INDEX IF NOT EXISTS webhook_events_undrained ON webhook_events (id) WHERE drained_at IS NULL;
"""
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

    def __init__(self, path: Path | str, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # see the module docstring
        self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        with self._lock:
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

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
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                ids = [self._conn.execute(
                    "INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body, remote)"
                    " VALUES (?, ?, ?, ?, ?, ?)", row).lastrowid for row in rows]
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return [int(i) for i in ids if i is not None]

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
        seq = self._one("SELECT seq FROM sqlite_sequence WHERE name = 'webhook_events'")
        return int(seq or 0)

    def mark_drained(self, ids: Iterable[int], run_key: str, *, now: float | None = None) -> int:
        """Record that `run_key` took these events; returns how many were not already drained."""
        stamp = time.time() if now is None else now
        params = [(stamp, run_key, int(i)) for i in ids]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                changed = sum(self._conn.execute(
                    "UPDATE webhook_events SET drained_at = ?, run_key = ? WHERE id = ? AND drained_at IS NULL",
                    p).rowcount for p in params)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
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


def _row(event: WebhookEvent) -> tuple[object, ...]:
    if event.source not in ("v1", "v2"):
        raise ValueError(f"unknown webhook source {event.source!r}")
    if len(event.body) > MAX_BODY_CHARS:
        raise ValueError(f"webhook body over {MAX_BODY_CHARS} characters")
    return (event.received_at, event.resource_type, event.resource_url, event.source, event.body, event.remote)


QUEUE_FILE = "webhooks.sqlite3"


def queue_path(home: Path | str) -> Path:
    """Where the queue lives in the state directory (`ML_CONNECTOR_HOME`)."""
    return Path(home) / QUEUE_FILE
