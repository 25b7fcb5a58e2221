"""The month roll-up of reconciled days, over every pair: what the month-end report shows.

It reads what `engine.reconcile_day` wrote (`recon_pair_totals`, `recon_exceptions`, and each pair's
description in `recon_pairs`), so it costs a few aggregates, not a re-reconciliation, and needs no
rule pack: a month report covers whichever pairs were reconciled that month.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb

from pipelines.reconciliation import tables

if TYPE_CHECKING:
    import pandas as pd


class StockDrift(NamedTuple):
    """One item whose count differs between the two sides (a pack's `drift` category)."""

    source_key: str  # e.g. the SKUs that resolve to the stock item, comma-separated
    target_key: str | None  # e.g. the stock item
    source_qty: Decimal | None
    target_qty: Decimal | None


@dataclass(frozen=True)
class PairMonth:
    """One pair's month: `description` is its RulePack.describe(); `totals` its measures summed over its days."""

    pair: str
    description: dict[str, Any]
    days_reconciled: int
    totals: dict[str, int | Decimal]
    match_rate: float | None  # matched / of (the pack's `match`), 0..1; None without any
    exception_count: int
    unexplained: int
    per_category: dict[str, int]  # every category of the pair, 0 when none
    stock_drift: list[StockDrift]  # the drift rows of the month's last day with a drift check


@dataclass(frozen=True)
class MonthResult:
    """A month of reconciliation, for the report.

    - `month`: "YYYY-MM"; `days_reconciled`: days of it that any pair was reconciled for.
    - `pairs`: one PairMonth per pair reconciled in the month, by pair name.
    - `exception_count`, `unexplained`: exception rows in the month (every pair), and those not explained.
    - `per_day`: exceptions per reconciled day (0 for a clean day), ordered by day.
    - `exceptions`: the `recon_exceptions` rows of the month (Decimals stay Decimals), ordered by
      day, pair, category, order number, source id, target id.
    """

    month: str
    days_reconciled: int
    pairs: list[PairMonth]
    exception_count: int
    unexplained: int
    per_day: dict[date, int]
    exceptions: pd.DataFrame

    def pair(self, name: str) -> PairMonth:
        return next(p for p in self.pairs if p.pair == name)


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a "YYYY-MM" month."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def month_rollup(conn: duckdb.DuckDBPyConnection, month: str) -> MonthResult:
    """Sum the reconciled days of `month` ("YYYY-MM") per pair and gather its exception rows."""
    first, last = month_bounds(month)
    for statement in tables.ddl():
        conn.execute(statement)
    span = [first, last]
    days = conn.execute("SELECT count(DISTINCT day) FROM recon_pair_totals WHERE day BETWEEN ? AND ?",
                        span).fetchone()[0]
    per_day = dict(conn.execute(
        """SELECT day, sum(n)::BIGINT FROM (
               SELECT DISTINCT day, 0 AS n FROM recon_pair_totals WHERE day BETWEEN $1 AND $2
               UNION ALL SELECT day, 1 FROM recon_exceptions WHERE day BETWEEN $1 AND $2)
           GROUP BY day ORDER BY day""", span).fetchall())
    exceptions = _exceptions(conn, first, last)
    pairs = [_pair_month(conn, pair, json.loads(text), first, last) for pair, text in conn.execute(
        """SELECT pair, description FROM recon_pairs
           WHERE pair IN (SELECT pair FROM recon_pair_totals WHERE day BETWEEN ? AND ?) ORDER BY pair""",
        span).fetchall()]
    unexplained = int((~exceptions["explained"].astype(bool)).sum()) if len(exceptions) else 0
    return MonthResult(month, int(days), pairs, len(exceptions), unexplained, per_day, exceptions)


def _pair_month(conn: duckdb.DuckDBPyConnection, pair: str, description: dict[str, Any], first: date,
                last: date) -> PairMonth:
    span = [pair, first, last]
    sums = conn.execute("SELECT measure, sum(value) FROM recon_pair_totals WHERE pair = ? AND day BETWEEN ? AND ?"
                        " GROUP BY measure", span).fetchall()
    money = set(description.get("money", []))
    totals = {k: Decimal(v) if k in money else int(v) for k, v in sums}
    exceptions, unexplained = totals.pop("exceptions", 0), totals.pop("unexplained", 0)
    days = conn.execute("SELECT count(DISTINCT day) FROM recon_pair_totals WHERE pair = ? AND day BETWEEN ? AND ?",
                        span).fetchone()[0]
    per_category = dict.fromkeys(description.get("categories", {}), 0) | dict(conn.execute(
        "SELECT category, count(*) FROM recon_exceptions WHERE pair = ? AND day BETWEEN ? AND ? GROUP BY category",
        span).fetchall())
    match = description.get("match")
    rate = totals.get(match["matched"], 0) / totals[match["of"]] if match and totals.get(match["of"]) else None
    drift = _drift(conn, pair, description["drift"], first, last) if description.get("drift") else []
    return PairMonth(pair, description, int(days), totals, rate, exceptions, unexplained, per_category, drift)


def _exceptions(conn: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    import pandas as pd  # lazily: the order sync's process never loads pandas

    cursor = conn.execute("SELECT * FROM recon_exceptions WHERE day BETWEEN ? AND ?"
                          " ORDER BY day, pair, category, order_number, source_id, target_id", [first, last])
    names = [column[0] for column in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=names, dtype=object)


def _drift(conn: duckdb.DuckDBPyConnection, pair: str, drift: dict[str, str], first: date,
           last: date) -> list[StockDrift]:
    """The drift rows of the last day both sides were counted, else of the last day with any."""
    rows = conn.execute(
        """WITH checked AS (
               SELECT max(day) AS day FROM recon_pair_totals
               WHERE pair = $pair AND measure = $checked AND value > 0 AND day BETWEEN $first AND $last),
           last_day AS (
               SELECT coalesce((SELECT day FROM checked), max(day)) AS day FROM recon_exceptions
               WHERE pair = $pair AND category = $category AND day BETWEEN $first AND $last)
           SELECT source_id, target_id, source_amount, target_amount FROM recon_exceptions
           WHERE pair = $pair AND category = $category AND day = (SELECT day FROM last_day) ORDER BY target_id""",
        {"pair": pair, "checked": drift["checked"], "category": drift["category"], "first": first,
         "last": last}).fetchall()
    return [StockDrift(*row) for row in rows]
