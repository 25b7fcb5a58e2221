"""Reading the sync ledger: entries by flow, state, id, group, and the ones that need attention."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Entry:
    flow: str
    source_id: str
    target: str
    external_key: str
    state: str
    action: str | None
    target_id: str | None
    posted_hash: str | None
    cancelled: bool
    attempts: int
    last_error: str | None
    owner: str | None
    detail: dict[str, Any]
    source_payload: str | None
    claimed_at: float | None
    updated_at: float
    group_key: str | None = None
    retry_kind: str | None = None

    @property
    def transient(self) -> bool:
        """A failure worth retrying by itself: the target was unreachable, rate-limited or answered 5xx."""
        return self.state == "failed" and self.retry_kind == "transient"

    @property
    def failure_kind(self) -> FailureKind | None:
        """Why a failed record failed, in the words `replay --kind` takes; None for one that did not fail."""
        if self.state != "failed":
            return None
        if self.action == "map":
            return "mapping"  # held before anything was sent: the record could not be mapped or checked
        return "transient" if self.retry_kind == "transient" else "refused"


FailureKind = Literal["mapping", "refused", "transient"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("mapping", "refused", "transient")


@dataclass(frozen=True)
class FailedFilter:
    """Which failed records to pick: any of `record_ids` (source id, or the number people see in
    `detail`), any of `kinds`, last failed in [`since`, `until`) (epoch seconds). Empty means any."""

    record_ids: tuple[str, ...] = ()
    kinds: tuple[FailureKind, ...] = ()
    since: float | None = None
    until: float | None = None

    def matches(self, entry: Entry) -> bool:
        numbers = {entry.source_id, *(str(v) for k, v in entry.detail.items() if k.endswith("number"))}
        return ((not self.record_ids or bool(numbers & set(self.record_ids)))
                and (not self.kinds or entry.failure_kind in self.kinds)
                and (self.since is None or entry.updated_at >= self.since)
                and (self.until is None or entry.updated_at < self.until))


def current_owner(run_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def owner_alive(owner: str | None, claimed_at: float | None, lease_seconds: float) -> bool:
    """A claim is live while its process exists on this host and its lease has not expired."""
    if not owner or claimed_at is None or time.time() - claimed_at > lease_seconds:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname():
        return True  # another machine: only the lease can tell
    try:
        os.kill(int(pid_text), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


class LedgerQueries:
    """The read side of `SyncLedger` (which supplies `_conn` and `lease_seconds`)."""

    _conn: sqlite3.Connection
    lease_seconds: float

    def entries(self, flow: str | None = None, state: str | None = None) -> list[Entry]:
        sql, args = "SELECT * FROM sync_entries WHERE 1=1", []
        if flow:
            sql, args = sql + " AND flow=?", [*args, flow]
        if state:
            sql, args = sql + " AND state=?", [*args, state]
        return [_entry(r) for r in self._conn.execute(sql + " ORDER BY flow, source_id", args)]

    def get(self, flow: str, source_id: str, target: str) -> Entry | None:
        row = self._conn.execute(
            "SELECT * FROM sync_entries WHERE flow=? AND source_id=? AND target=?", (flow, source_id, target)
        ).fetchone()
        return _entry(row) if row else None

    def outcomes(self, flow: str, target: str, source_ids: Sequence[str], *, chunk: int = 500) -> dict[str, Entry]:
        """Entries for many records, fetched `chunk` ids per query."""
        return {e.source_id: e for e in self._where_in(flow, target, "source_id", source_ids, chunk)}

    def by_group(self, flow: str, target: str, group_keys: Sequence[str], *, chunk: int = 500) -> list[Entry]:
        """Every entry of `flow` whose group key is one of `group_keys` (e.g. all shipments of some orders)."""
        return list(self._where_in(flow, target, "group_key", group_keys, chunk))

    def _where_in(self, flow: str, target: str, column: str, values: Sequence[str], chunk: int) -> Iterator[Entry]:
        for start in range(0, len(values), chunk):
            part = list(values[start:start + chunk])
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                f"SELECT * FROM sync_entries WHERE flow=? AND target=? AND {column} IN ({marks})",
                [flow, target, *part])
            yield from (_entry(row) for row in rows)

    def transient_failures(self, flow: str, max_attempts: int) -> list[Entry]:
        """Failed entries of `flow` worth retrying by themselves, tried under `max_attempts` times, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM sync_entries WHERE flow=? AND state='failed' AND retry_kind='transient' AND attempts<?"
            " ORDER BY updated_at, source_id", (flow, max_attempts))
        return [_entry(row) for row in rows]

    def changed_since(self, updated_after: float, states: Sequence[str], *, limit: int = 1000) -> list[Entry]:
        """Entries in one of `states` updated after `updated_after` (epoch seconds), oldest first."""
        marks = ",".join("?" * len(states))
        rows = self._conn.execute(
            f"SELECT * FROM sync_entries WHERE updated_at > ? AND state IN ({marks}) ORDER BY updated_at LIMIT ?",
            [updated_after, *states, limit])
        return [_entry(row) for row in rows]

    def stuck_pending(self, *, limit: int = 1000) -> list[Entry]:
        """`pending` entries no live run holds (owner dead, lease over, or left unresolved), oldest claim first."""
        rows = self._conn.execute("SELECT * FROM sync_entries WHERE state='pending' ORDER BY claimed_at LIMIT ?",
                                  (limit,))
        entries = [_entry(row) for row in rows]
        return [e for e in entries if not owner_alive(e.owner, e.claimed_at, self.lease_seconds)]

    def failed(self, flow: str, where: FailedFilter | None = None) -> list[Entry]:
        """Failed entries of `flow` that `where` picks, oldest failure first."""
        sql, args = "SELECT * FROM sync_entries WHERE flow=? AND state='failed'", [flow]
        if where is not None and where.since is not None:
            sql, args = sql + " AND updated_at>=?", [*args, where.since]
        if where is not None and where.until is not None:
            sql, args = sql + " AND updated_at<?", [*args, where.until]
        entries = [_entry(row) for row in self._conn.execute(sql + " ORDER BY updated_at, source_id", args)]
        return [e for e in entries if where is None or where.matches(e)]

    def counts(self, flow: str) -> dict[str, int]:
        rows = self._conn.execute("SELECT state, count(*) FROM sync_entries WHERE flow=? GROUP BY state", (flow,))
        return {state: n for state, n in rows}




def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        flow=row["flow"], source_id=row["source_id"], target=row["target"], external_key=row["external_key"],
        state=row["state"], action=row["action"], target_id=row["target_id"], posted_hash=row["posted_hash"],
        cancelled=bool(row["cancelled"]), attempts=row["attempts"], last_error=row["last_error"],
        owner=row["owner"], detail=json.loads(row["detail"] or "{}"), source_payload=row["source_payload"],
        claimed_at=row["claimed_at"], updated_at=row["updated_at"], group_key=row["group_key"],
        retry_kind=row["retry_kind"],
    )
