"""The month roll-up of reconciled days: what the month-end report shows.

It reads what `engine.reconcile_day` wrote (`recon_day_totals`, `recon_exceptions`) and the month's
last stock snapshot day, so it costs a few aggregates, not a re-reconciliation.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import duckdb
import pandas as pd

from pipelines.reconciliation import tables

TOTAL_KEYS = ("orders", "order_total", "vouchers", "voucher_amount", "shipments", "delivery_notes", "matched")


class StockDrift(NamedTuple):
    """One stock item whose Tally closing stock differs from ShipStation's on-hand count."""

    sku: str  # the SKUs that resolve to the stock item, comma-separated
    stock_item: str | None
    shipstation_qty: Decimal | None
    tally_qty: Decimal | None


@dataclass(frozen=True)
class MonthResult:
    """A month of reconciliation, for the report.

    - `month`: "YYYY-MM"; `days_reconciled`: days of it that `reconcile_day` has run for.
    - `totals`: sums over those days, keys TOTAL_KEYS: `orders` (ShipStation, cancelled included),
      `order_total` (Decimal, orders not cancelled), `vouchers` and `voucher_amount` (active order
      vouchers in Tally), `shipments` (live labels), `delivery_notes` (active), `matched` (orders whose
      voucher agrees, or which are cancelled and have none).
    - `match_rate`: matched / orders, 0..1; None when the month has no orders.
    - `exception_count`, `unexplained`: exception rows in the month, and those not explained.
    - `per_day`: exceptions per reconciled day (0 for a clean day), ordered by day.
    - `per_category`: exceptions per category, every category of CATEGORIES (0 when none).
    - `stock_drift`: each drifting stock item on the month's last day with a stock comparison.
    - `exceptions`: the `recon_exceptions` rows of the month (Decimals stay Decimals), ordered by
      day, category, order number, source id, target id.
    """

    month: str
    days_reconciled: int
    totals: dict[str, int | Decimal]
    match_rate: float | None
    exception_count: int
    unexplained: int
    per_day: dict[date, int]
    per_category: dict[str, int]
    stock_drift: list[StockDrift]
    exceptions: pd.DataFrame


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a "YYYY-MM" month."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def month_rollup(conn: duckdb.DuckDBPyConnection, month: str) -> MonthResult:
    """Sum the reconciled days of `month` ("YYYY-MM") and gather its exception rows."""
    first, last = month_bounds(month)
    for statement in tables.ddl():
        conn.execute(statement)
    span = [first, last]
    sums = conn.execute(f"SELECT count(*), {', '.join(f'coalesce(sum({k}), 0)' for k in TOTAL_KEYS)}"
                        " FROM recon_day_totals WHERE day BETWEEN ? AND ?", span).fetchone()
    totals = {key: Decimal(value) if key in ("order_total", "voucher_amount") else int(value)
              for key, value in zip(TOTAL_KEYS, sums[1:], strict=True)}
    per_day = dict(conn.execute(
        """SELECT day, sum(n)::BIGINT FROM (
               SELECT day, 0 AS n FROM recon_day_totals WHERE day BETWEEN $1 AND $2
               UNION ALL SELECT day, 1 FROM recon_exceptions WHERE day BETWEEN $1 AND $2)
           GROUP BY day ORDER BY day""", span).fetchall())
    per_category = dict.fromkeys(tables.CATEGORIES, 0) | dict(conn.execute(
        "SELECT category, count(*) FROM recon_exceptions WHERE day BETWEEN ? AND ? GROUP BY category",
        span).fetchall())
    exceptions = _exceptions(conn, first, last)
    unexplained = int((~exceptions["explained"].astype(bool)).sum()) if len(exceptions) else 0
    orders = totals["orders"]
    return MonthResult(month, int(sums[0]), totals, totals["matched"] / orders if orders else None,
                       len(exceptions), unexplained, per_day, per_category, _stock_drift(conn, first, last),
                       exceptions)


def _exceptions(conn: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    cursor = conn.execute("SELECT * FROM recon_exceptions WHERE day BETWEEN ? AND ?"
                          " ORDER BY day, category, order_number, source_id, target_id", [first, last])
    names = [column[0] for column in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=names, dtype=object)


def _stock_drift(conn: duckdb.DuckDBPyConnection, first: date, last: date) -> list[StockDrift]:
    rows = conn.execute(
        """WITH checked AS (
               SELECT max(day) AS day FROM recon_tally_stock
               WHERE day BETWEEN $1 AND $2 AND day IN (SELECT day FROM recon_ss_inventory)),
           last_day AS (
               SELECT coalesce((SELECT day FROM checked), max(day)) AS day FROM recon_exceptions
               WHERE category = 'stock_drift' AND day BETWEEN $1 AND $2)
           SELECT source_id, target_id, source_amount, target_amount FROM recon_exceptions
           WHERE category = 'stock_drift' AND day = (SELECT day FROM last_day) ORDER BY target_id""",
        [first, last]).fetchall()
    return [StockDrift(*row) for row in rows]
