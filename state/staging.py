"""DuckDB staging store: snapshots of what was read from each system, for posting and reconciliation.

A DuckDB file has one writing process at a time, and Dagster runs steps in separate processes, so
connections are opened briefly (one page or one block of rows) and opening retries while another
process holds the lock. Opening costs about 15 ms (a DuckDB instance each time), so a run's staged
rows are read `READ_ROWS` per connection and handed out in smaller chunks: memory does not grow with
the number of orders, and neither does the count of opens per chunk.

Every connection is held under the merchant's staging writer lock (`state.backends.locks`): with
PostgreSQL configured, workers on different machines that mount the same state directory take turns for
the file through the server, since DuckDB's own file lock is not reliable over network storage. Without
PostgreSQL the lock is a no-op and DuckDB's file lock (and the retry below) is the guard.

Rows are written as column lists, one list parameter per column unnested side by side
(`INSERT INTO t (a, b) SELECT unnest(?), unnest(?)`), with no pandas frame in between: pandas is
~44 MB of a sync process's resident memory, and the order sync needs no frame anywhere. DuckDB casts
each column to the table's own type on insert (VARCHAR text to DECIMAL exactly, so Decimal values are
handed over as their text, never as floats; aware datetimes to TIMESTAMPTZ).

A run's pages are gathered and written `STAGE_ROWS` rows at a time (`stage_pages`): every connection
ends in a checkpoint that rewrites the table's last row group and waits for the disk, so four pages of
500 orders in one unit cost a little over what one page did (10,000 orders: 21 connections became 6;
staging CPU ~1.1 -> ~0.55 s, and a quarter of the fsyncs). A page is written only after it was read
whole, in order; when reading a page fails, the pages read before it are written before the error
goes on, as when each page was written alone.

Each staged order carries its `party`, the party ledger name the flow gives it when that can be read
from the raw record without parsing it (NULL: not known, read the order), so the step that creates
missing party ledgers asks for the distinct parties its books lack and decodes only those orders.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import duckdb

from state.backends.locks import staging_writer_lock

# The staged tables carry no PRIMARY KEY on purpose: DuckDB keeps ART indexes wholly in memory, so a
# key on a table that grows with every order makes memory grow with it. Re-staging a page is
# delete-then-insert instead, and the latest snapshot per order is a view.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS shipstation_orders_staged (
        run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR,
        order_status VARCHAR, modify_date TIMESTAMPTZ, fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL,
        party VARCHAR)""",
    # a file staged before the party column: its rows have none (NULL: read the order to learn its party)
    "ALTER TABLE shipstation_orders_staged ADD COLUMN IF NOT EXISTS party VARCHAR",
    """CREATE OR REPLACE VIEW shipstation_orders AS
        SELECT order_id, order_number, order_status, modify_date, fetched_at, raw FROM (
            SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY fetched_at DESC, seq DESC) AS newest
            FROM shipstation_orders_staged) WHERE newest = 1""",
    """CREATE TABLE IF NOT EXISTS shipstation_shipments_staged (
        run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, shipment_id BIGINT NOT NULL, order_id BIGINT,
        order_number VARCHAR, voided BOOLEAN, create_date TIMESTAMPTZ, void_date TIMESTAMPTZ,
        fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL)""",
    """CREATE OR REPLACE VIEW shipstation_shipments AS
        SELECT shipment_id, order_id, order_number, voided, create_date, void_date, fetched_at, raw FROM (
            SELECT *, row_number() OVER (PARTITION BY shipment_id ORDER BY fetched_at DESC, seq DESC) AS newest
            FROM shipstation_shipments_staged) WHERE newest = 1""",
    """CREATE TABLE IF NOT EXISTS shipstation_products (
        product_id BIGINT, sku VARCHAR, name VARCHAR, active BOOLEAN, fetched_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS shipstation_customers (
        customer_id BIGINT, name VARCHAR, email VARCHAR, fetched_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tally_ledgers (
        name VARCHAR PRIMARY KEY, parent VARCHAR, aliases VARCHAR, fetched_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tally_stock_items (
        name VARCHAR PRIMARY KEY, aliases VARCHAR, base_unit VARCHAR, parent VARCHAR,
        closing_qty DECIMAL(18, 4), fetched_at TIMESTAMPTZ NOT NULL)""",
]

STAGE_ROWS = 2000  # rows gathered from a run's pages before they are written in one connection
STAGE_CHARS = 4_000_000  # ...or this much raw text (long orders): a unit stays well inside PAGE_MEMORY_LIMIT
ORDERS_TABLE, SHIPMENTS_TABLE = "shipstation_orders_staged", "shipstation_shipments_staged"
# Raw records as JSON text: one encoder for every record (json.dumps with options builds one per call)
_RAW_JSON = json.JSONEncoder(default=str, ensure_ascii=False)
READ_ROWS = 2000  # staged rows read per connection (their raw JSON text only; decoded a chunk at a time)
MEMORY_LIMIT = "128MB"  # DuckDB defaults to 80% of RAM and caches scans up to it; staging stays small
# How the checkpoint closing each of the store's own units of work compresses text columns. Left to itself
# DuckDB 2.0.1 stores the raw JSON of staged records as DICT_FSST, and that compression was most of what
# staging cost DuckDB: ZSTD (10,000 / 100,000 distinct sandbox orders, `bench.staging_compression`) took
# DuckDB's CPU for staging from 0.91 to 0.71 s / 9.1 to 6.7 s, the file from 28 to 7 MB / 286 to 73 MB, and
# left reading back (5.3 s per 100,000) and peak RSS as they were. Only the units: callers' own SQL
# (`connect()`, reconciliation's short text columns) keeps DuckDB's choice, where ZSTD made the 1,000,000-
# order reconciliation bench ~8% more CPU and its tables 67% bigger. Numbers, dates and booleans keep DuckDB's
# choice in the units too (ZSTD is for text only). `{}`: DuckDB's own choice everywhere.
STAGED_COMPRESSION: dict[str, str | int] = {"force_compression": "zstd"}
# Staging a page needs little, but the checkpoint on close fills the buffer pool up to the limit with the
# table's last row group (122,880 rows): at 100,000 orders 128MB put ~150 MB on the step's peak RSS, 32MB
# ~50 MB, 16MB ~33 MB (measured: 200 pages of 500 orders, one connection each; 16MB against 32MB lowered
# the peak by 14-19 MB at 60,000 and 100,000 orders for the same CPU, and 8MB gained nothing more). A page
# too big for it gets MEMORY_LIMIT.
PAGE_MEMORY_LIMIT = "16MB"
# The store's own units of work run on one thread: a page or a block of rows is too little to share out, and
# every DuckDB worker thread brings allocator arenas of its own that keep what it freed: with a second thread
# staging 60,000 orders peaked ~10 MB higher (and reading 100,000 back ~3 MB) for the same CPU. `connect()`
# for callers' own SQL over whole tables (reconciliation) keeps DuckDB's default of every core.
THREADS = 1
# A unit of pages ends in a checkpoint that, by default, also vacuums: it merges the small row groups earlier
# units left into bigger ones, rewriting them, more the more units came before (binary-counter fashion: at
# 50,000 orders one close in 16 took 0.35-1.4 s, and closing took 5.1 of the step's 7.1 CPU s). A run's units
# but its last are written without it (a close stays ~15-40 ms at any size); the last one's checkpoint merges
# them all once, in the page's small buffer pool. Left unmerged, the next write to any table of the file
# merges them (with that connection's memory: a snapshot of Tally's masters took 128 MB more for it).
NO_VACUUM: dict[str, str | int] = {"max_vacuum_tasks": 0}
# Files this process has made the schema in, by path, device and inode: a file deleted and made again
# (or restored from a copy) is another inode and gets the schema again.
_SCHEMA_MADE: set[tuple[str, int, int]] = set()
_LOCK_MARKERS = ("lock", "Conflicting lock", "being used by another process")


class StagingStore:
    """The DuckDB file under the state directory, opened briefly for each unit of work."""

    def __init__(self, path: Path | str, *, lock_timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        if _identity(self.path) not in _SCHEMA_MADE:  # each step makes a store: one open saved per step
            with self._unit() as conn:
                for statement in SCHEMA:
                    conn.execute(statement)
            if (made := _identity(self.path)) is not None:
                _SCHEMA_MADE.add(made)

    @contextmanager
    def connect(self, memory_limit: str = MEMORY_LIMIT, threads: int | None = None, *,
                settings: Mapping[str, str | int] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection under the writer lock; `threads` None is DuckDB's default (every core),
        which SQL over whole tables (reconciliation) wants; the store's own units of work use `THREADS`.
        `settings`: more DuckDB settings for this connection."""
        with staging_writer_lock(self.path.name, timeout=self.lock_timeout):
            conn = self._open(memory_limit, threads, settings)
            try:
                yield conn
            finally:
                conn.close()

    def _unit(self, memory_limit: str = MEMORY_LIMIT,
              settings: Mapping[str, str | int] | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A connection for one of the store's own units of work (a page, a block of rows, a snapshot)."""
        return self.connect(memory_limit, THREADS, settings={**STAGED_COMPRESSION, **(settings or {})})

    def _open(self, memory_limit: str, threads: int | None,
              settings: Mapping[str, str | int] | None = None) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        config: dict[str, str | int] = {"memory_limit": memory_limit, **(settings or {})}
        if threads is not None:
            config["threads"] = threads
        while True:
            try:
                return duckdb.connect(str(self.path), config=config)
            except duckdb.IOException as exc:
                if not any(m in str(exc) for m in _LOCK_MARKERS) or time.monotonic() > deadline:
                    raise
                time.sleep(delay + random.uniform(0, delay))
                delay = min(delay * 2, 0.5)

    # --- ShipStation orders ---------------------------------------------------------------------
    @staticmethod
    def order_columns(orders: Sequence[dict], modify_dates: Sequence[datetime | None],
                      parties: Sequence[str | None] | None = None) -> dict[str, list[Any]]:
        """One page of raw ShipStation orders as the staged table's columns (for `stage_order_pages`), with
        their parsed modify dates and party ledger names (None: not known without parsing the order)."""
        return {
            "order_id": [int(o["orderId"]) for o in orders],
            "order_number": [str(o.get("orderNumber") or "") for o in orders],
            "order_status": [o.get("orderStatus") for o in orders],
            "modify_date": list(modify_dates),
            "party": list(parties) if parties is not None else [None] * len(orders),
            "raw": [_RAW_JSON.encode(o) for o in orders],
        }

    def stage_orders(self, run_id: str, first_seq: int, fetched_at: datetime, orders: Sequence[dict],
                     modify_dates: Sequence[datetime | None], parties: Sequence[str | None] | None = None) -> int:
        """Stage one page of raw ShipStation orders for `run_id`; returns the next sequence number."""
        if not orders:
            return first_seq
        return self.stage_page(ORDERS_TABLE, run_id, first_seq, fetched_at,
                               self.order_columns(orders, modify_dates, parties))

    def stage_order_pages(self, run_id: str, fetched_at: datetime, pages: Iterable[Mapping[str, Sequence[Any]]],
                          first_seq: int = 0) -> int:
        """Stage a run's pages of orders, each given as `order_columns`, gathered (see `stage_pages`)."""
        return self.stage_pages(ORDERS_TABLE, run_id, fetched_at, pages, first_seq)

    def iter_staged_orders(self, run_id: str, chunk: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Yield the raw orders staged by `run_id`, in staging order, `chunk` at a time."""
        return self._iter_staged(ORDERS_TABLE, run_id, chunk)

    def iter_staged_order_texts(self, run_id: str, chunk: int = 500) -> Iterator[list[str]]:
        """As `iter_staged_orders`, each order still its staged JSON text: for a reader that decodes it
        elsewhere (another process maps them: `pipelines.posting.ahead`)."""
        return self._iter_staged_texts(ORDERS_TABLE, run_id, chunk)

    def iter_staged_orders_of_unknown_party(self, run_id: str, known: Collection[str],
                                            chunk: int = 500) -> Iterator[list[dict[str, Any]]]:
        """The raw orders staged by `run_id` whose party is not in `known` or was not staged (NULL), in staging
        order and grouped as `iter_staged_orders` groups them (orders `chunk * k` to `chunk * (k + 1) - 1` of
        the run, a group left empty is skipped). `known` is read again before each block of rows is read and
        each group decoded: an order whose party the caller added to it meanwhile is neither read nor decoded.

        One connection learns which blocks of the run hold orders of parties `known` lacks (and those parties);
        a block is read only while one of its parties is still unknown, by its own range of seqs (the raw text
        of no other block is scanned)."""
        block_rows = chunk * max(1, READ_ROWS // chunk)  # whole groups to a block
        with self._unit() as conn:
            blocks = conn.execute(
                f"SELECT seq // ? AS block, bool_or(party IS NULL), list(DISTINCT party) FILTER (party IS NOT NULL)"
                f" FROM {ORDERS_TABLE} WHERE run_id = ?"
                " AND (party IS NULL OR party NOT IN (SELECT unnest(?::VARCHAR[]))) GROUP BY block ORDER BY block",
                [block_rows, run_id, list(known)]).fetchall()
        for block, any_null, parties in blocks:
            wanted = [party for party in parties or () if party not in known]
            if not wanted and not any_null:
                continue
            with self._unit() as conn:
                rows = conn.execute(
                    f"SELECT seq, party, raw FROM {ORDERS_TABLE} WHERE run_id = ? AND seq >= ? AND seq < ?"
                    " AND (party IS NULL OR party IN (SELECT unnest(?::VARCHAR[]))) ORDER BY seq",
                    [run_id, block * block_rows, (block + 1) * block_rows, wanted]).fetchall()
            for _, group in groupby(rows, key=lambda row: row[0] // chunk):
                orders = [json.loads(raw) for _, party, raw in group if party is None or party not in known]
                if orders:
                    yield orders

    def stage_pages(self, table: str, run_id: str, fetched_at: datetime, pages: Iterable[Mapping[str, Sequence[Any]]],
                    first_seq: int = 0) -> int:
        """Stage a run's pages (each one list per column, as `stage_page` takes them) from `first_seq` on, in
        order, a unit of about `STAGE_ROWS` rows to a connection; returns the next seq. A page is written only
        once it was read whole, a full unit once the page after it was (so the run's last unit is known); when
        reading a page raises, the pages read before it are written, then the error goes on."""
        seq, gathered, rows, chars = first_seq, list[Mapping[str, Sequence[Any]]](), 0, 0
        source = iter(pages)
        while True:
            try:
                page = next(source, None)
            except BaseException:
                if rows:  # the pages read before the failure, as if each had been written when read
                    self._stage_unit(table, run_id, seq, fetched_at, gathered, last=True)
                raise
            if page is None:
                return self._stage_unit(table, run_id, seq, fetched_at, gathered, last=True) if rows else seq
            if not (count := _row_count(table, page)):
                continue
            if gathered and gathered[0].keys() != page.keys():
                raise ValueError(f"{table}: page columns {sorted(page)} are not the run's {sorted(gathered[0])}")
            if rows >= STAGE_ROWS or chars >= STAGE_CHARS:  # a full unit, and a page after it: not the last
                seq = self._stage_unit(table, run_id, seq, fetched_at, gathered, last=False)
                gathered, rows, chars = [], 0, 0
            gathered.append(page)
            rows += count
            chars += sum(len(v) for v in page.get("raw", ()) if isinstance(v, str))

    def stage_page(self, table: str, run_id: str, first_seq: int, fetched_at: datetime,
                   columns: Mapping[str, Sequence[Any]]) -> int:
        """Replace rows `first_seq..` of `run_id` in the staged `table` by one page, given as one list per
        column (besides run_id, seq and fetched_at), so staging a page again is harmless; returns the next seq."""
        return self._stage_unit(table, run_id, first_seq, fetched_at, [columns])

    def _stage_unit(self, table: str, run_id: str, first_seq: int, fetched_at: datetime,
                    pages: Sequence[Mapping[str, Sequence[Any]]], *, last: bool = True) -> int:
        """Replace rows `first_seq..` of `run_id` by these pages in one connection and transaction; returns the
        next seq. Each page is its own INSERT: one of the whole unit held every column's list twice more in
        DuckDB (staging 10,000 orders of ~3 KB in units of four pages peaked ~9 MB higher). Only a run's `last`
        unit is closed by a checkpoint that vacuums (see `NO_VACUUM`)."""
        constants = {"run_id": run_id, "fetched_at": fetched_at}
        settings = None if last else NO_VACUUM
        try:
            return self._write_pages(table, pages, constants, run_id, first_seq, PAGE_MEMORY_LIMIT, settings)
        except duckdb.OutOfMemoryException:  # nothing was committed: the same pages, with more room
            return self._write_pages(table, pages, constants, run_id, first_seq, MEMORY_LIMIT, settings)

    def _write_pages(self, table: str, pages: Sequence[Mapping[str, Sequence[Any]]], constants: Mapping[str, Any],
                     run_id: str, first_seq: int, memory_limit: str, settings: Mapping[str, str | int] | None) -> int:
        rows = sum(_row_count(table, page) for page in pages)
        with self._unit(memory_limit, settings) as conn:
            conn.execute("BEGIN")
            conn.execute(f"DELETE FROM {table} WHERE run_id = ? AND seq >= ? AND seq < ?",
                         [run_id, first_seq, first_seq + rows])
            seq = first_seq
            for page in pages:
                count = _row_count(table, page)
                insert_columns(conn, table, {"seq": range(seq, seq + count), **page}, constants)
                seq += count
            conn.execute("COMMIT")
        return seq

    def _iter_staged(self, table: str, run_id: str, chunk: int) -> Iterator[list[dict[str, Any]]]:
        """A run's staged raw records in staging order, `chunk` at a time, each chunk decoded when it is asked for."""
        return (list(map(json.loads, texts)) for texts in self._iter_staged_texts(table, run_id, chunk))

    def _iter_staged_texts(self, table: str, run_id: str, chunk: int) -> Iterator[list[str]]:
        """A run's staged raw JSON texts in staging order, `chunk` at a time."""
        last, block = -1, max(chunk, READ_ROWS)
        while True:
            with self._unit() as conn:  # a run's seqs are contiguous from 0: a range, not a sort of the table
                rows = conn.execute(f"SELECT seq, raw FROM {table} WHERE run_id = ? AND seq > ? AND seq <= ?"
                                    " ORDER BY seq", [run_id, last, last + block]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for start in range(0, len(rows), chunk):
                yield [raw for _, raw in rows[start:start + chunk]]
            if len(rows) < block:  # the run's last rows: no need to open again to learn that
                return

    def orders_by_id(self, order_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The newest staged snapshot of each of these orders (those never staged are absent)."""
        if not order_ids:
            return {}
        with self._unit() as conn:
            rows = conn.execute("SELECT order_id, raw FROM shipstation_orders WHERE order_id IN (SELECT unnest(?))",
                                [list(order_ids)]).fetchall()
        return {order_id: json.loads(raw) for order_id, raw in rows}

    def staged_order_count(self, run_id: str) -> int:
        """How many orders `run_id` staged (rows: an order staged twice in a run counts twice)."""
        with self._unit() as conn:
            row = conn.execute("SELECT count(*) FROM shipstation_orders_staged WHERE run_id = ?", [run_id]).fetchone()
        return row[0] if row else 0

    def staged_order_ids(self, run_id: str) -> list[int]:
        with self._unit() as conn:
            rows = conn.execute("SELECT DISTINCT order_id FROM shipstation_orders_staged WHERE run_id = ?",
                                [run_id]).fetchall()
        return [r[0] for r in rows]

    # --- ShipStation shipments, products, customers ------------------------------------------------
    @staticmethod
    def shipment_columns(shipments: Sequence[dict],
                         dates: Sequence[tuple[datetime | None, datetime | None]]) -> dict[str, list[Any]]:
        """One page of raw shipments as the staged table's columns (for `stage_shipment_pages`), with their
        parsed create and void dates."""
        return {
            "shipment_id": [int(s["shipmentId"]) for s in shipments],
            "order_id": [_int_or_none(s.get("orderId")) for s in shipments],
            "order_number": [str(s.get("orderNumber") or "") for s in shipments],
            "voided": [bool(s.get("voided")) for s in shipments],
            "create_date": [d[0] for d in dates], "void_date": [d[1] for d in dates],
            "raw": [_RAW_JSON.encode(s) for s in shipments],
        }

    def stage_shipments(self, run_id: str, first_seq: int, fetched_at: datetime, shipments: Sequence[dict],
                        dates: Sequence[tuple[datetime | None, datetime | None]]) -> int:
        """Stage one page of raw shipments (with their parsed create/void dates); returns the next seq."""
        if not shipments:
            return first_seq
        return self.stage_page(SHIPMENTS_TABLE, run_id, first_seq, fetched_at, self.shipment_columns(shipments, dates))

    def stage_shipment_pages(self, run_id: str, fetched_at: datetime, pages: Iterable[Mapping[str, Sequence[Any]]],
                             first_seq: int = 0) -> int:
        """Stage a run's pages of shipments, each given as `shipment_columns`, gathered (see `stage_pages`)."""
        return self.stage_pages(SHIPMENTS_TABLE, run_id, fetched_at, pages, first_seq)

    def iter_staged_shipments(self, run_id: str, chunk: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Yield the raw shipments staged by `run_id`, in staging order, `chunk` at a time."""
        return self._iter_staged(SHIPMENTS_TABLE, run_id, chunk)

    def staged_shipment_ids(self, run_id: str) -> list[int]:
        with self._unit() as conn:
            rows = conn.execute("SELECT DISTINCT shipment_id FROM shipstation_shipments_staged WHERE run_id = ?",
                                [run_id]).fetchall()
        return [r[0] for r in rows]

    def replace_shipstation_products(self, fetched_at: datetime, rows: Sequence[dict[str, Any]]) -> None:
        self._replace("shipstation_products", fetched_at, {
            "product_id": [_int_or_none(r.get("productId")) for r in rows],
            "sku": [str(r.get("sku") or "").strip() for r in rows], "name": [r.get("name") for r in rows],
            "active": [bool(r.get("active", True)) for r in rows]})

    def replace_shipstation_customers(self, fetched_at: datetime, rows: Sequence[dict[str, Any]]) -> None:
        self._replace("shipstation_customers", fetched_at, {
            "customer_id": [_int_or_none(r.get("customerId")) for r in rows],
            "name": [r.get("name") for r in rows], "email": [r.get("email") for r in rows]})

    def shipstation_products(self) -> list[tuple[str, str | None, bool]]:
        with self._unit() as conn:
            return conn.execute("SELECT sku, name, active FROM shipstation_products ORDER BY sku").fetchall()

    def shipstation_customers(self) -> list[tuple[int | None, str | None, str | None]]:
        with self._unit() as conn:
            return conn.execute("SELECT customer_id, name, email FROM shipstation_customers"
                                " ORDER BY customer_id").fetchall()

    # --- Tally masters --------------------------------------------------------------------------
    def replace_tally_ledgers(self, fetched_at: datetime, rows: Sequence[tuple[str, str | None, list[str]]]) -> None:
        self._replace("tally_ledgers", fetched_at, {
            "name": [r[0] for r in rows], "parent": [r[1] for r in rows],
            "aliases": [json.dumps(r[2], ensure_ascii=False) for r in rows]})

    def replace_tally_stock_items(self, fetched_at: datetime, rows: Sequence[dict[str, Any]]) -> None:
        self._replace("tally_stock_items", fetched_at, {
            "name": [r["name"] for r in rows],
            "aliases": [json.dumps(r.get("aliases") or [], ensure_ascii=False) for r in rows],
            "base_unit": [r.get("base_unit") for r in rows], "parent": [r.get("parent") for r in rows],
            "closing_qty": [decimal_text(r.get("closing_qty")) for r in rows]})

    def _replace(self, table: str, fetched_at: datetime, columns: Mapping[str, Sequence[Any]]) -> None:
        """Replace the whole snapshot in `table` by these rows (one list per column), fetched at `fetched_at`."""
        with self._unit() as conn:
            conn.execute("BEGIN")
            conn.execute(f"DELETE FROM {table}")
            insert_columns(conn, table, columns, {"fetched_at": fetched_at})
            conn.execute("COMMIT")

    def add_tally_ledgers(self, fetched_at: datetime, names: Sequence[str]) -> None:
        """Add ledgers we created to the snapshot without waiting for the next full read."""
        if not names:
            return
        with self._unit() as conn:  # one statement: executemany runs one per row (~2 ms each)
            conn.execute("INSERT OR IGNORE INTO tally_ledgers (name, parent, aliases, fetched_at)"
                         " SELECT unnest(?::VARCHAR[]), NULL, '[]', ?", [list(names), fetched_at])

    def tally_ledgers(self) -> list[tuple[str, list[str]]]:
        with self._unit() as conn:
            rows = conn.execute("SELECT name, aliases FROM tally_ledgers").fetchall()
        return [(name, json.loads(aliases or "[]")) for name, aliases in rows]

    def tally_closing_stock(self) -> dict[str, Any]:
        """Closing quantity per stock item name, as of the last snapshot."""
        with self._unit() as conn:
            rows = conn.execute("SELECT name, closing_qty FROM tally_stock_items").fetchall()
        return dict(rows)

    def add_tally_stock_items(self, fetched_at: datetime, rows: Sequence[tuple[str, str, str | None]]) -> None:
        """Add stock items we created (name, unit, parent) to the snapshot."""
        if not rows:
            return
        with self._unit() as conn:
            conn.execute("INSERT OR IGNORE INTO tally_stock_items (name, aliases, base_unit, parent, closing_qty,"
                         " fetched_at) SELECT unnest(?::VARCHAR[]), '[]', unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
                         " 0, ?", [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], fetched_at])

    def tally_stock_items(self) -> list[tuple[str, list[str], str | None]]:
        with self._unit() as conn:
            rows = conn.execute("SELECT name, aliases, base_unit FROM tally_stock_items").fetchall()
        return [(name, json.loads(aliases or "[]"), unit) for name, aliases, unit in rows]



def _identity(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return str(path.resolve()), stat.st_dev, stat.st_ino


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def insert_columns(conn: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any]],
                   constants: Mapping[str, Any] | None = None) -> int:
    """Insert rows given as one list per column (equal lengths), plus `constants` repeated on every row.

    Each list is one parameter, unnested beside the others, and DuckDB casts every column to the table's
    type on insert: no frame library in between. Hand Decimal values over as text (`decimal_text`): DuckDB
    casts text to DECIMAL exactly. Returns the number of rows inserted."""
    rows = _row_count(table, columns)
    if not rows:
        return 0
    constants = constants or {}
    names = ", ".join([*columns, *constants])
    values = ", ".join(["unnest(?)"] * len(columns) + ["?"] * len(constants))
    conn.execute(f"INSERT INTO {table} ({names}) SELECT {values}",
                 [*(list(v) for v in columns.values()), *constants.values()])
    return rows


def decimal_text(value: Any) -> str | None:
    """A Decimal (or int, or numeric text) as the text DuckDB casts to DECIMAL exactly; None stays None.
    A float is refused: it is not the amount it was meant to be."""
    if isinstance(value, float):
        raise TypeError(f"a float is not an exact amount: {value!r}")
    return None if value is None else str(value)


def _row_count(table: str, columns: Mapping[str, Sequence[Any]]) -> int:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:  # unnest would pad the shorter lists with NULLs
        raise ValueError(f"{table}: columns of unequal length {lengths}")
    return next(iter(lengths.values()), 0)
