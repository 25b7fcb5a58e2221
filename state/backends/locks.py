"""One writer of a merchant's DuckDB staging file at a time, across processes and machines.

Staging stays a DuckDB file per merchant (`<ML_CONNECTOR_HOME>/staging.duckdb`, the merchant's state
directory on storage every worker mounts). DuckDB lets one process open a file read-write and guards
that with an fcntl lock on the file, which is reliable between processes of one machine but not across
machines on network storage (NFS locking depends on the server and its mount options). With PostgreSQL
configured (`ML_CONNECTOR_DATABASE_URL`) the writer therefore also holds a PostgreSQL advisory lock named
after the merchant's schema and the file while it has the file open: every worker on every machine asks
the same server, and a worker that dies loses its session and with it the lock, so a crash never leaves
the file locked. Without PostgreSQL (one machine) the lock is a no-op and DuckDB's own lock suffices.

Why not Parquet per partition: reconciliation reads a merchant's whole history with SQL joins and
window functions; the staging module keeps a view of "newest snapshot per record" over append-only
tables, and its writes are short (a page, a chunk). One file with one writer at a time keeps that as it
is, and the writes are brief enough that waiting for the lock costs little next to the API calls that
produce them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from state.backends import database_url, schema_name

_connections: dict[str, object] = {}
# One session per process, so its threads take turns for the lock. Re-entrant: a thread that already holds
# the lock may open the file again (DuckDB shares one instance per file within a process), and PostgreSQL
# stacks a session's advisory locks, so the nested release leaves the outer hold in place.
_guard = threading.RLock()


@contextmanager
def staging_writer_lock(name: str, *, url: str | None = None, timeout: float = 300.0) -> Iterator[None]:
    """Hold the merchant-wide writer lock for the staging file `name` (a no-op without PostgreSQL)."""
    url = database_url(None, url)
    if not url:
        yield
        return
    key = f"ml-connector:{schema_name()}:staging:{name}"
    with _guard:
        conn = _session(url)
        conn.execute(f"SET lock_timeout = '{int(timeout * 1000)}ms'")
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def _session(url: str):
    import psycopg

    conn = _connections.get(url)
    if conn is None or conn.closed:  # type: ignore[attr-defined]
        conn = _connections[url] = psycopg.connect(url, autocommit=True)
    return conn
