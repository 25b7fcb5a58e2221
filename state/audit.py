"""Append-only audit trail: every request we send to a target and its response, with run id and time.

Bodies are stored zlib-compressed (level 1: Tally's XML and JSON still shrink ~10x, for a fraction of
the default level's CPU, which a run pays on every exchange). Secrets never reach the trail: only
bodies are kept (no headers), and any configured secret value that appears in a body is replaced
before storing. A reply that was compressed as it streamed in (`response_deflated`) is stored as it
is; with secrets configured it is inflated, scrubbed and compressed again.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    run_id TEXT,
    flow TEXT,
    system TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_ids TEXT,
    outcome TEXT,
    duration_ms REAL,
    request BLOB,
    response BLOB,
    error TEXT
);
CREATE INDEX IF NOT EXISTS audit_run ON audit (run_id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""
# The same guard in PostgreSQL (the table itself comes from AUDIT_SCHEMA, types mapped by state.backends.postgres).
AUDIT_PG_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)


LEVEL = 1  # zlib level of stored bodies (any level reads back the same)


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    run_id: str | None
    flow: str | None
    system: str
    kind: str
    source_ids: str | None
    outcome: str | None
    duration_ms: float | None
    request: bytes
    response: bytes
    error: str | None


def scrub(body: bytes, secrets: Iterable[str]) -> bytes:
    """Replace every non-empty secret value found in `body` with a fixed marker."""
    for secret in secrets:
        if secret:
            body = body.replace(secret.encode("utf-8"), b"[redacted]")
            body = body.replace(secret.encode("utf-16-le"), "[redacted]".encode("utf-16-le"))
    return body


class AuditTrail:
    """Writes and reads the `audit` table of the ledger database (SQLite, or PostgreSQL through the same calls)."""

    def __init__(self, conn: sqlite3.Connection, write: Callable[[], AbstractContextManager]) -> None:
        self._conn = conn
        self._write = write
        self.secrets: tuple[str, ...] = ()

    def record(
        self, *, system: str, kind: str, request: bytes, response: bytes = b"", run_id: str | None = None,
        flow: str | None = None, source_ids: Iterable[str] = (), outcome: str | None = None,
        duration_ms: float | None = None, error: str | None = None, response_deflated: bytes | None = None,
    ) -> None:
        req = zlib.compress(scrub(request, self.secrets), LEVEL)
        if response_deflated is None:
            resp = zlib.compress(scrub(response, self.secrets), LEVEL)
        elif any(self.secrets):
            resp = zlib.compress(scrub(zlib.decompress(response_deflated), self.secrets), LEVEL)
        else:
            resp = response_deflated
        with self._write() as conn:
            conn.execute(
                "INSERT INTO audit (at, run_id, flow, system, kind, source_ids, outcome, duration_ms,"
                " request, response, error) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (time.time(), run_id, flow, system, kind, ",".join(source_ids), outcome, duration_ms,
                 req, resp, error),
            )

    def records(self, run_id: str | None = None, limit: int = 1000) -> list[AuditRecord]:
        sql, args = "SELECT * FROM audit", []
        if run_id:
            sql, args = sql + " WHERE run_id=?", [run_id]
        rows = self._conn.execute(sql + " ORDER BY id LIMIT ?", [*args, limit]).fetchall()
        return [
            AuditRecord(
                id=r["id"], at=r["at"], run_id=r["run_id"], flow=r["flow"], system=r["system"],
                kind=r["kind"], source_ids=r["source_ids"], outcome=r["outcome"], duration_ms=r["duration_ms"],
                request=zlib.decompress(r["request"]), response=zlib.decompress(r["response"]), error=r["error"],
            )
            for r in rows
        ]

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM audit").fetchone()[0]
