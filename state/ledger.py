"""The sync ledger: what was sent where, once.

For every (flow, source record, target system) the ledger keeps the target's id, a hash of what was
last posted, a state (`pending -> posted | failed | skipped`, or `waiting` for a record that needs
another one first, e.g. a shipment whose order has no voucher yet), attempts, the last error and
times. `group_key` ties related records together (a shipment's entries carry its order id).
Before a write the intent is claimed as `pending` with a deterministic external key; after it the
outcome is recorded. A `pending` entry whose owner died is handed back as `resolve`: the caller
must look the key up in the target before re-sending anything.

Storage is SQLite in WAL mode: no server, safe for several writing processes (claims run in
`BEGIN IMMEDIATE` transactions, so two runs never claim the same record) and for a process killed
at any instruction (a transaction is either in the file or not). Owners are `host:pid:run`; a
claim is live while that process exists on this host and the lease has not run out.

With `ML_CONNECTOR_DATABASE_URL` set (or `url=` given) the same tables live in PostgreSQL
(`state.backends.postgres`): the same SQL, writers serialised per schema by an advisory lock held
for the transaction, so the claim semantics are SQLite's; workers on several machines share it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from state.audit import AUDIT_PG_TRIGGERS, AUDIT_SCHEMA, AuditTrail
from state.backends import database_url, is_postgres_url, schema_name
from state.ledger_queries import Entry, LedgerQueries, current_owner, owner_alive

__all__ = ["Candidate", "Claim", "Entry", "SyncLedger", "current_owner", "owner_alive"]

Action = Literal["create", "alter", "cancel", "skip", "busy", "resolve"]
Desired = Literal["upsert", "cancel"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_entries (
    flow TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target TEXT NOT NULL,
    external_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'failed', 'skipped', 'waiting')),
    action TEXT,
    target_id TEXT,
    posted_hash TEXT,
    pending_hash TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0,
    source_version TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    owner TEXT,
    claimed_at REAL,
    detail TEXT,
    source_payload TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    group_key TEXT,
    retry_kind TEXT,
    PRIMARY KEY (flow, source_id, target)
);
CREATE INDEX IF NOT EXISTS sync_entries_state ON sync_entries (flow, target, state)
"""
RetryKind = Literal["transient", "permanent"]
GROUP_INDEX = "CREATE INDEX IF NOT EXISTS sync_entries_group ON sync_entries (flow, target, group_key)"
# A ledger written before `waiting` and `group_key` existed is rebuilt once, in one transaction.
_COLUMNS = ("flow, source_id, target, external_key, state, action, target_id, posted_hash, pending_hash, cancelled,"
            " source_version, attempts, last_error, owner, claimed_at, detail, source_payload, created_at, updated_at")


@dataclass(frozen=True)
class Candidate:
    """A source record that wants to be in the target: `payload_hash` is what we would send."""

    source_id: str
    external_key: str
    payload_hash: str
    desired: Desired = "upsert"
    source_version: str | None = None
    detail: dict[str, Any] | None = None
    group_key: str | None = None


@dataclass(frozen=True)
class Claim:
    """The ledger's answer for one candidate: what the caller may do now."""

    source_id: str
    action: Action
    target_id: str | None = None
    prior_action: str | None = None
    reason: str | None = None
    earlier: tuple[dict[str, Any], ...] = ()  # details of earlier unresolved attempts (for `resolve`)


class SyncLedger(LedgerQueries):
    """Exactly-once bookkeeping shared by every process of one ml-connector installation."""

    def __init__(self, path: Path | str, *, lease_seconds: float = 900.0, url: str | None = None) -> None:
        """The ledger in the SQLite file `path`, or in PostgreSQL when `url` (or $ML_CONNECTOR_DATABASE_URL) is set."""
        self.lease_seconds = lease_seconds
        self._thread_lock = threading.RLock()
        self.url = database_url(path, url)
        if self.url:
            self.path = Path(".") if is_postgres_url(path) else Path(path)  # a URL may hold a password
            self._open_postgres(self.url)
            return
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only power loss can drop the last commit.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=60000")
        self._conn.executescript(SCHEMA)
        self._migrate()
        self._add_retry_kind()
        self._conn.execute(GROUP_INDEX)
        self._conn.executescript(AUDIT_SCHEMA)
        self.audit = AuditTrail(self._conn, self._write)

    def _open_postgres(self, url: str) -> None:
        from state.backends.postgres import PgDatabase  # psycopg is needed only by a PostgreSQL installation

        self._conn = PgDatabase(url, schema_name(), lock_name="ledger")  # type: ignore[assignment]
        self._conn.executescript(SCHEMA)
        self._conn.run_ddl([GROUP_INDEX])
        self._conn.executescript(AUDIT_SCHEMA)
        self._conn.run_ddl(AUDIT_PG_TRIGGERS)
        self.audit = AuditTrail(self._conn, self._write)  # type: ignore[arg-type]

    def close(self) -> None:
        self._conn.close()

    def _migrate(self) -> None:
        with self._write() as conn:
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name='sync_entries'").fetchone()[0]
            if "'waiting'" in sql:
                return
            conn.execute("ALTER TABLE sync_entries RENAME TO sync_entries_old")
            conn.execute("DROP INDEX IF EXISTS sync_entries_state")
            for statement in SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute(f"INSERT INTO sync_entries ({_COLUMNS}) SELECT {_COLUMNS} FROM sync_entries_old")
            conn.execute("DROP TABLE sync_entries_old")

    def _add_retry_kind(self) -> None:
        """A ledger written before failures were classified gains the column; old failures count as permanent."""
        with self._write() as conn:
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(sync_entries)")}
            if "retry_kind" not in columns:
                conn.execute("ALTER TABLE sync_entries ADD COLUMN retry_kind TEXT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.url:
            with self._conn.write() as conn:  # type: ignore[attr-defined]
                yield conn
            return
        with self._thread_lock:  # one connection: a poster's sender thread writes the audit trail beside the run
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- claiming -------------------------------------------------------------------------
    def claim(self, flow: str, target: str, candidates: Sequence[Candidate], owner: str) -> list[Claim]:
        """Decide, atomically for the whole batch, what may be sent for each candidate."""
        now = time.time()
        claims: list[Claim] = []
        with self._write() as conn:
            for cand in candidates:
                row = conn.execute(
                    "SELECT * FROM sync_entries WHERE flow=? AND source_id=? AND target=?",
                    (flow, cand.source_id, target),
                ).fetchone()
                claim = self._decide(row, cand)
                claims.append(claim)
                if claim.action in ("create", "alter", "cancel", "resolve"):
                    self._mark_pending(conn, flow, target, cand, claim, owner, now, row is None)
                elif claim.action == "skip" and row is None:
                    self._insert_skipped(conn, flow, target, cand, claim.reason or "", now)
                elif claim.action == "skip" and row["state"] in ("failed", "waiting"):
                    self._settle_failed(conn, row, claim, now)
        return claims

    def _decide(self, row: sqlite3.Row | None, cand: Candidate) -> Claim:
        return decide(row, cand, self.lease_seconds)

    def _mark_pending(self, conn, flow, target, cand: Candidate, claim: Claim, owner, now, new) -> None:
        action = claim.prior_action if claim.action == "resolve" else claim.action
        # An unresolved attempt's detail (e.g. the date it was sent with) is kept until it is resolved,
        # so a lookup still searches where the lost write went even if the source was edited since.
        earlier = [dict(d) for d in claim.earlier][-MAX_EARLIER:] if claim.action == "resolve" else []
        detail = json.dumps({**(cand.detail or {}), **({EARLIER: earlier} if earlier else {})}, default=str)
        if new:
            conn.execute(
                "INSERT INTO sync_entries (flow, source_id, target, external_key, state, action, pending_hash,"
                " source_version, attempts, owner, claimed_at, detail, created_at, updated_at, group_key)"
                " VALUES (?,?,?,?, 'pending', ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                (flow, cand.source_id, target, cand.external_key, action, cand.payload_hash,
                 cand.source_version, owner, now, detail, now, now, cand.group_key),
            )
            return
        conn.execute(
            "UPDATE sync_entries SET state='pending', action=?, pending_hash=?, source_version=?,"
            " attempts=attempts+1, owner=?, claimed_at=?, detail=?, updated_at=?,"
            " group_key=COALESCE(?, group_key) WHERE flow=? AND source_id=? AND target=?",
            (action, cand.payload_hash, cand.source_version, owner, now, detail, now, cand.group_key,
             flow, cand.source_id, target),
        )

    @staticmethod
    def _settle_failed(conn, row: sqlite3.Row, claim: Claim, now: float) -> None:
        """A failed record that now needs nothing: the target already matches, or it was cancelled unposted."""
        state = "posted" if row["target_id"] is not None else "skipped"
        conn.execute(
            "UPDATE sync_entries SET state=?, last_error=?, source_payload=NULL, updated_at=?"
            " WHERE flow=? AND source_id=? AND target=?",
            (state, None if state == "posted" else claim.reason, now, row["flow"], row["source_id"], row["target"]),
        )

    def record_skipped(self, flow: str, target: str, skips: Iterable[tuple[str, str]]) -> None:
        """Record `(source_id, reason)`: nothing needs sending for these records."""
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "UPDATE sync_entries SET state='skipped', last_error=?, owner=NULL, claimed_at=NULL,"
                " pending_hash=NULL, source_payload=NULL, updated_at=? WHERE flow=? AND source_id=? AND target=?",
                [(reason, now, flow, sid, target) for sid, reason in skips],
            )

    def _insert_skipped(self, conn, flow, target, cand: Candidate, reason: str, now: float) -> None:
        conn.execute(
            "INSERT INTO sync_entries (flow, source_id, target, external_key, state, action, last_error,"
            " source_version, detail, created_at, updated_at, group_key)"
            " VALUES (?,?,?,?, 'skipped', 'skip', ?, ?, ?, ?, ?, ?)",
            (flow, cand.source_id, target, cand.external_key, reason, cand.source_version,
             json.dumps(cand.detail or {}, default=str), now, now, cand.group_key),
        )

    # --- outcomes ---------------------------------------------------------------------------
    def record_posted(self, flow: str, target: str, outcomes: Iterable[tuple[str, str, str, bool]]) -> None:
        """Record `(source_id, target_id, posted_hash, cancelled)` outcomes in one transaction."""
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "UPDATE sync_entries SET state='posted', target_id=?, posted_hash=?, cancelled=?,"
                " pending_hash=NULL, last_error=NULL, owner=NULL, claimed_at=NULL, source_payload=NULL,"
                " updated_at=? WHERE flow=? AND source_id=? AND target=?",
                [(tid, h, int(c), now, flow, sid, target) for sid, tid, h, c in outcomes],
            )

    def record_failed(self, flow: str, target: str, failures: Iterable[tuple[str, str, str | None]],
                      *, transient: bool = False) -> None:
        """Record `(source_id, error, source_payload_json)`; the payload is kept for `replay`.

        `transient` failures (target unavailable, rate-limited past the budget, 5xx) are re-driven by the
        transient-retry sensor; permanent ones (bad data) stay failed until replayed.
        """
        now, kind = time.time(), "transient" if transient else "permanent"
        with self._write() as conn:
            conn.executemany(
                "UPDATE sync_entries SET state='failed', last_error=?, source_payload=COALESCE(?, source_payload),"
                " owner=NULL, claimed_at=NULL, updated_at=?, retry_kind=? WHERE flow=? AND source_id=? AND target=?",
                [(err, payload, now, kind, flow, sid, target) for sid, err, payload in failures],
            )

    def record_failed_unclaimed(self, flow: str, target: str, cand: Candidate, error: str, payload: str) -> None:
        """A record that failed before any claim (e.g. it could not be mapped): keep it for replay."""
        self._record_unclaimed("failed", "map", flow, target, cand, error, payload)

    def record_waiting(self, flow: str, target: str, cand: Candidate, reason: str, payload: str) -> None:
        """A record that cannot be sent until another one is (its order): kept, with why, to try again."""
        self._record_unclaimed("waiting", "wait", flow, target, cand, reason, payload)

    def _record_unclaimed(self, state: str, action: str, flow: str, target: str, cand: Candidate, error: str,
                          payload: str) -> None:
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sync_entries (flow, source_id, target, external_key, state, action, last_error,"
                " source_version, detail, source_payload, attempts, created_at, updated_at, group_key)"
                " VALUES (?,?,?,?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
                " ON CONFLICT (flow, source_id, target) DO UPDATE SET"
                " state=CASE WHEN sync_entries.target_id IS NULL THEN excluded.state ELSE sync_entries.state END,"
                " last_error=excluded.last_error, source_payload=excluded.source_payload,"
                " source_version=excluded.source_version, attempts=sync_entries.attempts+1,"
                " group_key=COALESCE(excluded.group_key, sync_entries.group_key), updated_at=excluded.updated_at,"
                " retry_kind=NULL",
                (flow, cand.source_id, target, cand.external_key, state, action, error, cand.source_version,
                 json.dumps(cand.detail or {}, default=str), payload, now, now, cand.group_key),
            )

    def leave_unresolved(self, flow: str, target: str, source_ids: Iterable[str], reason: str) -> None:
        """Writes whose outcome is unknown: they stay `pending` with no owner, so the next claim resolves
        them (looks the key up in the target) before anything is sent again."""
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "UPDATE sync_entries SET last_error=?, owner=NULL, claimed_at=NULL, updated_at=?"
                " WHERE flow=? AND source_id=? AND target=? AND state='pending'",
                [(reason, now, flow, sid, target) for sid in source_ids],
            )

    def release(self, flow: str, target: str, source_ids: Iterable[str], error: str, *,
                transient: bool = True) -> None:
        """Give back claims whose write was certainly not delivered (the target was unreachable: transient)."""
        now, kind = time.time(), "transient" if transient else "permanent"
        with self._write() as conn:
            conn.executemany(
                "UPDATE sync_entries SET state=CASE WHEN target_id IS NULL THEN 'failed' ELSE 'posted' END,"
                " last_error=?, owner=NULL, claimed_at=NULL, pending_hash=NULL, updated_at=?,"
                " retry_kind=CASE WHEN target_id IS NULL THEN ? ELSE retry_kind END"
                " WHERE flow=? AND source_id=? AND target=? AND state='pending'",
                [(error, now, kind, flow, sid, target) for sid in source_ids],
            )


EARLIER = "_earlier"
MAX_EARLIER = 8


def decide(row: Mapping[str, Any] | sqlite3.Row | None, cand: Candidate, lease_seconds: float) -> Claim:
    """The claim rule: what a run may do with `cand` given its ledger row (None: never seen). A pending row
    held by a live run is busy; one whose run died is resolved by lookup first; a row with no target id
    yet is created; a cancel of a record never posted, or already cancelled, is skipped, as is an unchanged
    payload already posted. `replay`'s dry run asks the same rule of a failed entry."""
    sid = cand.source_id
    if row is None:
        if cand.desired == "cancel":
            return Claim(sid, "skip", reason="cancelled before it was ever posted")
        return Claim(sid, "create")
    if row["state"] == "pending":
        if owner_alive(row["owner"], row["claimed_at"], lease_seconds):
            return Claim(sid, "busy", row["target_id"], row["action"], "claimed by a live run")
        return Claim(sid, "resolve", row["target_id"], row["action"], earlier=_attempts(row["detail"]))
    target_id = row["target_id"]
    if target_id is None:
        if cand.desired == "cancel":
            return Claim(sid, "skip", reason="cancelled before it was ever posted")
        return Claim(sid, "create")
    if cand.desired == "cancel":
        if row["cancelled"]:
            return Claim(sid, "skip", target_id, reason="already cancelled")
        return Claim(sid, "cancel", target_id)
    if row["posted_hash"] == cand.payload_hash and not row["cancelled"]:
        return Claim(sid, "skip", target_id, reason="unchanged")
    return Claim(sid, "alter", target_id)


def _attempts(detail_json: str | None) -> tuple[dict[str, Any], ...]:
    """The details of an unresolved entry's attempts, oldest first: its earlier ones, then its own."""
    detail = json.loads(detail_json or "{}")
    earlier = detail.pop(EARLIER, [])
    return (*earlier, detail)
