"""DuckDB staging store: snapshots of what was read from each system, for posting and reconciliation.

A DuckDB file has one writing process at a time, and Dagster runs steps in separate processes, so
connections are opened briefly (one page or one chunk) and opening retries while another process
holds the lock. Posting reads its run's staged orders back in chunks, so memory does not grow with
the number of orders.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

# The staged tables carry no PRIMARY KEY on purpose: DuckDB keeps ART indexes wholly in memory, so a
# key on a table that grows with every order makes memory grow with it. Re-staging a page is
# delete-then-insert instead, and the latest snapshot per order is a view.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS shipstation_orders_staged (
        run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR,
        order_status VARCHAR, modify_date TIMESTAMPTZ, fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL)""",
    """CREATE OR REPLACE VIEW shipstation_orders AS
        SELECT order_id, order_number, order_status, modify_date, fetched_at, raw FROM (
            SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY fetched_at DESC, seq DESC) AS newest
            FROM shipstation_orders_staged) WHERE newest = 1""",
    """CREATE TABLE IF NOT EXISTS tally_ledgers (
        name VARCHAR PRIMARY KEY, parent VARCHAR, aliases VARCHAR, fetched_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tally_stock_items (
        name VARCHAR PRIMARY KEY, aliases VARCHAR, base_unit VARCHAR, parent VARCHAR,
        closing_qty DECIMAL(18, 4), fetched_at TIMESTAMPTZ NOT NULL)""",
]

MEMORY_LIMIT = "128MB"  # DuckDB defaults to 80% of RAM and caches scans up to it; staging stays small
_LOCK_MARKERS = ("lock", "Conflicting lock", "being used by another process")


class StagingStore:
    """The DuckDB file under the state directory, opened briefly for each unit of work."""

    def __init__(self, path: Path | str, *, lock_timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        with self.connect() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    def _open(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), config={"memory_limit": MEMORY_LIMIT})
            except duckdb.IOException as exc:
                if not any(m in str(exc) for m in _LOCK_MARKERS) or time.monotonic() > deadline:
                    raise
                time.sleep(delay + random.uniform(0, delay))
                delay = min(delay * 2, 0.5)

    # --- ShipStation orders ---------------------------------------------------------------------
    def stage_orders(self, run_id: str, first_seq: int, fetched_at: datetime, orders: Sequence[dict],
                     modify_dates: Sequence[datetime | None]) -> int:
        """Stage one page of raw ShipStation orders for `run_id`; returns the next sequence number."""
        if not orders:
            return first_seq
        frame = pd.DataFrame({
            "run_id": run_id,
            "seq": range(first_seq, first_seq + len(orders)),
            "order_id": [int(o["orderId"]) for o in orders],
            "order_number": [str(o.get("orderNumber") or "") for o in orders],
            "order_status": [o.get("orderStatus") for o in orders],
            "modify_date": pd.Series(list(modify_dates), dtype="object"),
            "fetched_at": fetched_at,
            "raw": [json.dumps(o, default=str, ensure_ascii=False) for o in orders],
        })
        with self.connect() as conn:
            conn.register("page", frame)
            conn.execute("BEGIN")
            conn.execute("DELETE FROM shipstation_orders_staged WHERE run_id = ? AND seq >= ? AND seq < ?",
                         [run_id, first_seq, first_seq + len(orders)])
            conn.execute("INSERT INTO shipstation_orders_staged SELECT run_id, seq, order_id, order_number,"
                         " order_status, modify_date, fetched_at, raw FROM page")
            conn.execute("COMMIT")
        return first_seq + len(orders)

    def iter_staged_orders(self, run_id: str, chunk: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Yield the raw orders staged by `run_id`, in staging order, `chunk` at a time."""
        last = -1
        while True:
            with self.connect() as conn:
                rows = conn.execute(
                    "SELECT seq, raw FROM shipstation_orders_staged WHERE run_id = ? AND seq > ?"
                    " ORDER BY seq LIMIT ?", [run_id, last, chunk]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [json.loads(raw) for _, raw in rows]

    def staged_order_ids(self, run_id: str) -> list[int]:
        with self.connect() as conn:
            rows = conn.execute("SELECT DISTINCT order_id FROM shipstation_orders_staged WHERE run_id = ?",
                                [run_id]).fetchall()
        return [r[0] for r in rows]

    # --- Tally masters --------------------------------------------------------------------------
    def replace_tally_ledgers(self, fetched_at: datetime, rows: Sequence[tuple[str, str | None, list[str]]]) -> None:
        frame = pd.DataFrame({"name": [r[0] for r in rows], "parent": [r[1] for r in rows],
                              "aliases": [json.dumps(r[2], ensure_ascii=False) for r in rows],
                              "fetched_at": fetched_at})
        self._replace("tally_ledgers", frame)

    def replace_tally_stock_items(self, fetched_at: datetime, rows: Sequence[dict[str, Any]]) -> None:
        frame = pd.DataFrame({
            "name": [r["name"] for r in rows],
            "aliases": [json.dumps(r.get("aliases") or [], ensure_ascii=False) for r in rows],
            "base_unit": [r.get("base_unit") for r in rows], "parent": [r.get("parent") for r in rows],
            "closing_qty": [r.get("closing_qty") for r in rows], "fetched_at": fetched_at,
        })
        self._replace("tally_stock_items", frame)

    def _replace(self, table: str, frame: pd.DataFrame) -> None:
        with self.connect() as conn:
            conn.register("incoming", frame)
            conn.execute("BEGIN")
            conn.execute(f"DELETE FROM {table}")
            if len(frame):
                conn.execute(f"INSERT INTO {table} SELECT * FROM incoming")
            conn.execute("COMMIT")

    def add_tally_ledgers(self, fetched_at: datetime, names: Sequence[str]) -> None:
        """Add ledgers we created to the snapshot without waiting for the next full read."""
        if not names:
            return
        with self.connect() as conn:
            conn.executemany("INSERT OR IGNORE INTO tally_ledgers VALUES (?, NULL, '[]', ?)",
                             [(name, fetched_at) for name in names])

    def tally_ledgers(self) -> list[tuple[str, list[str]]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT name, aliases FROM tally_ledgers").fetchall()
        return [(name, json.loads(aliases or "[]")) for name, aliases in rows]

    def tally_stock_items(self) -> list[tuple[str, list[str], str | None]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT name, aliases, base_unit FROM tally_stock_items").fetchall()
        return [(name, json.loads(aliases or "[]"), unit) for name, aliases, unit in rows]

