"""The reconciliation engine: record-by-record exceptions between ShipStation and TallyPrime, one day at a time.

Given a DuckDB connection holding the snapshot tables of `tables.py`, `reconcile_day` finds every
exception of one day in set-based SQL (scope.py builds the day's working set, rules.py holds one
statement per rule) and replaces that day's rows of `recon_exceptions` and `recon_day_totals` in one
transaction. `load_ledger` copies the sync ledger in first, so exceptions whose cause the ledger
records come out `explained`. `month_rollup` (rollup.py) sums a month for the report. No Dagster here.

Matching: an order voucher belongs to ShipStation order N when it carries our key `ss-order-N`, a
Delivery Note to label N when it carries `ss-shipment-N`, whatever day either is dated; every record
counts once, at its newest snapshot, on that snapshot's day. A cancelled voucher is inert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

import duckdb
import pandas as pd

from pipelines.reconciliation import rules, scope, tables
from pipelines.reconciliation.rollup import MonthResult, StockDrift, month_rollup
from state.ledger import Entry, owner_alive

__all__ = ["DayResult", "MonthResult", "StockDrift", "load_ledger", "month_rollup", "reconcile_day"]

# Categories that say an order's voucher does not agree with it: an order with none of them is matched.
ORDER_CATEGORIES = ("order_without_voucher", "duplicate_vouchers", "amount_mismatch", "quantity_mismatch",
                    "customer_mismatch", "date_mismatch", "cancelled_voucher_active")
_LEDGER_CHUNK = 50_000


@dataclass(frozen=True)
class DayResult:
    """What one day's reconciliation counted and found.

    `orders` are the day's ShipStation orders (cancelled ones included) and `order_total` the total of
    those not cancelled; `vouchers` / `voucher_amount` the day's active order vouchers in Tally;
    `shipments` the day's live labels, `delivery_notes` the day's active Delivery Notes. `matched` orders
    have none of ORDER_CATEGORIES; `match_rate` is matched / orders (None without orders).
    """

    day: date
    orders: int
    order_total: Decimal
    vouchers: int
    voucher_amount: Decimal
    shipments: int
    delivery_notes: int
    matched: int
    exceptions: int
    unexplained: int
    per_category: dict[str, int] = field(default_factory=dict)  # every category of CATEGORIES, 0 when none

    @property
    def match_rate(self) -> float | None:
        return self.matched / self.orders if self.orders else None

    @property
    def totals(self) -> dict[str, int | Decimal]:
        return {"orders": self.orders, "order_total": self.order_total, "vouchers": self.vouchers,
                "voucher_amount": self.voucher_amount, "shipments": self.shipments,
                "delivery_notes": self.delivery_notes, "matched": self.matched}


def load_ledger(conn: duckdb.DuckDBPyConnection, entries: Iterable[Entry], *, now: datetime,
                lease_seconds: float) -> int:
    """Replace `recon_ledger` by these sync-ledger entries; returns how many were loaded.

    A `pending` entry is stuck when its lease (from `claimed_at`, as of `now`) has run out or its owner
    process is gone (`owner_alive`). Only entries that are not `posted` explain exceptions, but a posted
    one lets a reason say which voucher ml-connector had posted; `entries` is read in chunks.
    """
    conn.execute(f"CREATE OR REPLACE TABLE recon_ledger ({tables.LEDGER})")
    loaded, iterator = 0, iter(entries)
    while chunk := list(islice(iterator, _LEDGER_CHUNK)):
        frame = pd.DataFrame([_ledger_row(e, now.timestamp(), lease_seconds) for e in chunk], columns=_LEDGER_COLUMNS)
        conn.register("_r_ledger_chunk", frame)
        conn.execute(f"INSERT INTO recon_ledger SELECT {_LEDGER_SELECT} FROM _r_ledger_chunk")
        conn.unregister("_r_ledger_chunk")
        loaded += len(chunk)
    return loaded


_LEDGER_COLUMNS = ["flow", "source_id", "state", "last_error", "target_id", "cancelled", "updated_at", "claimed_at",
                   "stuck", "group_key", "owner", "order_number"]
_LEDGER_SELECT = ", ".join(f"to_timestamp({c})" if c.endswith("_at") else c for c in _LEDGER_COLUMNS)


def _ledger_row(entry: Entry, now: float, lease_seconds: float) -> tuple[Any, ...]:
    stuck = entry.state == "pending" and not _claim_live(entry, now, lease_seconds)
    number = entry.detail.get("order_number") if isinstance(entry.detail, dict) else None
    return (entry.flow, entry.source_id, entry.state, entry.last_error, entry.target_id, bool(entry.cancelled),
            entry.updated_at, entry.claimed_at, stuck, entry.group_key, entry.owner,
            None if number is None else str(number))


def _claim_live(entry: Entry, now: float, lease_seconds: float) -> bool:
    if entry.claimed_at is None or now - entry.claimed_at > lease_seconds:
        return False
    return owner_alive(entry.owner, entry.claimed_at, math.inf)  # the lease is judged as of `now`, above


def reconcile_day(conn: duckdb.DuckDBPyConnection, day: date, *, now: datetime, timezone: str,
                  cost_tolerance: Decimal = Decimal("0.00"), order_voucher_type: str = "Sales Order",
                  note_voucher_type: str = "Delivery Note", currency: str = "₹") -> DayResult:
    """Find `day`'s exceptions and replace its rows of `recon_exceptions` (and `recon_day_totals`).

    `timezone` is the books' (TALLY_TIMEZONE): it places ledger records on the local day they changed.
    A label cost differing from the shipping charged by more than `cost_tolerance` is a variance line.
    """
    params = {"day": day, "now": now, "timezone": timezone, "cost_tolerance": cost_tolerance,
              "order_type": order_voucher_type, "note_type": note_voucher_type}
    for statement in tables.ddl() + scope.macros(currency):
        conn.execute(statement)
    try:
        for statement in [*scope.SCOPE, rules.EXCEPTIONS_TABLE, *rules.ORDER_RULES, *rules.LABEL_RULES,
                          *rules.ORPHAN_RULES, rules.STOCK_RULE, *rules.LEDGER_RULES]:
            run_sql(conn, statement, params)
        totals = _day_totals(conn, params)
        _replace_day(conn, params)
        per_category = dict.fromkeys(tables.CATEGORIES, 0) | dict(
            conn.execute("SELECT category, count(*) FROM _r_exc GROUP BY category").fetchall())
    finally:
        for table in scope.TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return DayResult(day, *totals, per_category=per_category)


def run_sql(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> None:
    """Execute with the named parameters the statement uses (DuckDB refuses unused ones)."""
    used = set(re.findall(r"\$(\w+)", sql))
    conn.execute(sql, {k: v for k, v in params.items() if k in used} or None)


_TOTALS = f"""SELECT
    (SELECT count(*) FROM _r_orders WHERE of_day),
    (SELECT coalesce(sum(order_total), 0) FROM _r_orders WHERE of_day AND NOT cancelled),
    (SELECT count(*) FROM _r_vouchers WHERE of_day AND active AND voucher_type = $order_type),
    (SELECT coalesce(sum(abs(amount)), 0) FROM _r_vouchers WHERE of_day AND active AND voucher_type = $order_type),
    (SELECT count(*) FROM _r_ships WHERE of_day AND live),
    (SELECT count(*) FROM _r_vouchers WHERE of_day AND active AND voucher_type = $note_type),
    (SELECT count(*) FROM _r_orders WHERE of_day AND order_id::VARCHAR NOT IN (
        SELECT source_id FROM _r_exc WHERE category IN {ORDER_CATEGORIES})),
    (SELECT count(*) FROM _r_exc),
    (SELECT count(*) FROM _r_exc WHERE NOT explained)"""


def _day_totals(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> tuple[Any, ...]:
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _r_totals AS {_TOTALS}",
                 {k: params[k] for k in ("order_type", "note_type")})
    return conn.execute("SELECT * FROM _r_totals").fetchone()


def _replace_day(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """Swap in the day's exceptions and totals in one transaction."""
    owners = ", ".join(f"('{name}', '{owner}')" for name, (owner, _) in tables.CATEGORIES.items())
    conn.execute("BEGIN")
    try:
        run_sql(conn, "DELETE FROM recon_exceptions WHERE day = $day", params)
        run_sql(conn, f"""INSERT INTO recon_exceptions BY NAME
            SELECT e.*, $day AS day, o.owner, $now AS detected_at
            FROM _r_exc e JOIN (VALUES {owners}) o(category, owner) USING (category)""", params)
        run_sql(conn, "DELETE FROM recon_day_totals WHERE day = $day", params)
        run_sql(conn, "INSERT INTO recon_day_totals SELECT $day, *, $now FROM _r_totals", params)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
