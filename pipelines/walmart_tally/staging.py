"""The pair's DuckDB tables, beside the shared staging store's (`state.staging.StagingStore`).

Orders and returns are staged raw per run (as ShipStation orders are), newest snapshot per record as a
view; a settlement is staged as its coded totals (by type, by bill, by ledger) and its status, never
as its rows, so a 50,000-row file stages as a few hundred rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from state.staging import StagingStore

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS walmart_orders_staged (
        run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, purchase_order_id VARCHAR NOT NULL,
        customer_order_id VARCHAR, last_change TIMESTAMPTZ, fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL)""",
    """CREATE OR REPLACE VIEW walmart_orders AS
        SELECT purchase_order_id, customer_order_id, last_change, fetched_at, raw FROM (
            SELECT *, row_number() OVER (PARTITION BY purchase_order_id ORDER BY fetched_at DESC, seq DESC) AS n
            FROM walmart_orders_staged) WHERE n = 1""",
    """CREATE TABLE IF NOT EXISTS walmart_returns_staged (
        run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, return_order_id VARCHAR NOT NULL,
        customer_order_id VARCHAR, last_change TIMESTAMPTZ, fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL)""",
    """CREATE OR REPLACE VIEW walmart_returns AS
        SELECT return_order_id, customer_order_id, last_change, fetched_at, raw FROM (
            SELECT *, row_number() OVER (PARTITION BY return_order_id ORDER BY fetched_at DESC, seq DESC) AS n
            FROM walmart_returns_staged) WHERE n = 1""",
    """CREATE TABLE IF NOT EXISTS walmart_settlements (
        report_date VARCHAR NOT NULL, day DATE, layout VARCHAR, total_payable DECIMAL(18, 2),
        line_total DECIMAL(18, 2), rows BIGINT, status VARCHAR, error VARCHAR, fetched_at TIMESTAMPTZ NOT NULL,
        book VARCHAR, posted_total DECIMAL(18, 2))""",
    """CREATE TABLE IF NOT EXISTS walmart_settlement_types (
        report_date VARCHAR NOT NULL, transaction_type VARCHAR, amount_type VARCHAR, target VARCHAR,
        lines BIGINT, amount DECIMAL(18, 2))""",
]


class WalmartStaging:
    """Walmart's staged records in the shared DuckDB file."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        with store.connect() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def stage(self, kind: str, run_id: str, first_seq: int, fetched_at: datetime, rows: Sequence[dict],
              ids: Sequence[str], customer_orders: Sequence[str], changes: Sequence[datetime | None]) -> int:
        """Stage one page of raw orders (``kind`` "orders") or returns; returns the next sequence number."""
        if not rows:
            return first_seq
        id_column = "purchase_order_id" if kind == "orders" else "return_order_id"
        return self.store.stage_page(f"walmart_{kind}_staged", run_id, first_seq, fetched_at, {
            id_column: list(ids), "customer_order_id": list(customer_orders), "last_change": list(changes),
            "raw": [json.dumps(r, default=str, ensure_ascii=False) for r in rows]})

    def iter_staged(self, kind: str, run_id: str, chunk: int = 500) -> Iterator[list[dict[str, Any]]]:
        return self.store._iter_staged(f"walmart_{kind}_staged", run_id, chunk)

    def staged_ids(self, kind: str, run_id: str) -> list[str]:
        id_column = "purchase_order_id" if kind == "orders" else "return_order_id"
        with self.store.connect() as conn:
            rows = conn.execute(f"SELECT DISTINCT {id_column} FROM walmart_{kind}_staged WHERE run_id = ?",
                                [run_id]).fetchall()
        return [r[0] for r in rows]

    # --- settlements ------------------------------------------------------------------------------
    def save_settlement(self, report_date: str, row: dict[str, Any], types: Sequence[tuple]) -> None:
        """Replace one settlement's summary and its totals by type."""
        with self.store.connect() as conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM walmart_settlements WHERE report_date = ?", [report_date])
            conn.execute("DELETE FROM walmart_settlement_types WHERE report_date = ?", [report_date])
            conn.execute("INSERT INTO walmart_settlements VALUES (?,?,?,?,?,?,?,?,?,?,NULL)", [
                report_date, row.get("day"), row.get("layout"), row.get("total_payable"), row.get("line_total"),
                row.get("rows"), row.get("status"), row.get("error"), row["fetched_at"], row.get("book")])
            if types:
                conn.executemany("INSERT INTO walmart_settlement_types VALUES (?,?,?,?,?,?)",
                                 [(report_date, *t) for t in types])
            conn.execute("COMMIT")

    def set_status(self, report_date: str, status: str, error: str | None = None,
                   posted_total: Decimal | None = None) -> None:
        with self.store.connect() as conn:
            conn.execute("UPDATE walmart_settlements SET status = ?, error = ?, posted_total = ? WHERE report_date = ?",
                         [status, error, posted_total, report_date])

    def settlement(self, report_date: str) -> dict[str, Any] | None:
        with self.store.connect() as conn:
            cursor = conn.execute("SELECT * FROM walmart_settlements WHERE report_date = ?", [report_date])
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return dict(zip(names, row, strict=True)) if row else None

    def settlement_types(self, report_date: str) -> list[tuple]:
        """(transaction type, amount type, target, lines, amount) of one staged settlement."""
        with self.store.connect() as conn:
            return conn.execute("SELECT transaction_type, amount_type, target, lines, amount"
                                " FROM walmart_settlement_types WHERE report_date = ?", [report_date]).fetchall()

    def settlement_dates(self, *statuses: str) -> set[str]:
        with self.store.connect() as conn:
            rows = conn.execute("SELECT report_date FROM walmart_settlements WHERE status IN (SELECT unnest(?))",
                                [list(statuses)]).fetchall()
        return {r[0] for r in rows}


def book_json(bills: dict[str, Decimal], ledgers: dict[str, Decimal]) -> str:
    return json.dumps({"bills": {k: str(v) for k, v in bills.items()},
                       "ledgers": {k: str(v) for k, v in ledgers.items()}})


def book_from_json(text: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    data = json.loads(text)
    return ({k: Decimal(v) for k, v in data["bills"].items()}, {k: Decimal(v) for k, v in data["ledgers"].items()})
