"""The reconciliation engine: record-by-record exceptions between two systems, one pair and one day at a time.

It knows no system: a `RulePack` (pack.py) brings a pair's snapshot tables, working set, rules and
measures, and `reconcile_day` runs them as set-based SQL on a DuckDB connection, then replaces that
pair's rows of the day in `recon_exceptions` and `recon_pair_totals` in one transaction. `load_ledger`
copies the sync ledger in first, so exceptions whose cause the ledger records come out `explained`.
`month_rollup` (rollup.py) sums a month, over every pair, for the report. No Dagster here.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

import duckdb

from pipelines.reconciliation import tables
from pipelines.reconciliation.pack import RulePack
from pipelines.reconciliation.rollup import MonthResult, PairMonth, StockDrift, month_rollup
from state.ledger import Entry, owner_alive

__all__ = ["DayResult", "MonthResult", "PairMonth", "StockDrift", "load_ledger", "month_rollup", "reconcile_day",
           "reconcile_days", "statement_name"]

EXCEPTIONS_TABLE = """CREATE OR REPLACE TEMP TABLE _r_exc (day DATE, category VARCHAR, order_number VARCHAR,
    source_system VARCHAR, source_id VARCHAR, target_system VARCHAR, target_id VARCHAR, source_amount DECIMAL(18, 4),
    target_amount DECIMAL(18, 4), difference DECIMAL(18, 4), reason VARCHAR, explained BOOLEAN, explanation VARCHAR)"""
_LEDGER_CHUNK = 50_000
# Days one pass of a ranged pack covers: at a million orders a month, ten days' hash tables stay within the
# staging store's 128 MB where a month's spill to disk (bench/recon.py).
SPAN_DAYS = 10


@dataclass(frozen=True)
class DayResult:
    """What one pair's day counted (`totals`: the pack's measures) and found."""

    pair: str
    day: date
    totals: dict[str, int | Decimal]
    exceptions: int
    unexplained: int
    per_category: dict[str, int] = field(default_factory=dict)  # every category of the pack, 0 when none
    match: tuple[str, str] | None = None  # the measures of the match rate: matched, of

    @property
    def match_rate(self) -> float | None:
        if self.match is None or not self.totals.get(self.match[1]):
            return None
        return self.totals[self.match[0]] / self.totals[self.match[1]]


def macros(currency: str) -> list[str]:
    """Formatting helpers every pack's rules may use; `currency` is a symbol such as ₹."""
    symbol = currency.replace("'", "''")
    return [
        f"""CREATE OR REPLACE TEMP MACRO _r_money(x) AS CASE WHEN x IS NULL THEN 'an unknown amount'
            ELSE CASE WHEN x < 0 THEN '-' ELSE '' END || '{symbol}' || format('{{:,.2f}}', abs(x)) END""",
        "CREATE OR REPLACE TEMP MACRO _r_qty(q) AS format('{:g}', coalesce(q, 0)::DOUBLE)",
        "CREATE OR REPLACE TEMP MACRO _r_name(s) AS lower(regexp_replace(trim(s), '\\s+', ' ', 'g'))",
        """CREATE OR REPLACE TEMP MACRO _r_age(seconds) AS CASE
            WHEN seconds < 3600 THEN (seconds // 60)::BIGINT || ' min'
            WHEN seconds < 172800 THEN (seconds // 3600)::BIGINT || ' h'
            ELSE (seconds // 86400)::BIGINT || ' days' END""",
    ]


def load_ledger(conn: duckdb.DuckDBPyConnection, entries: Iterable[Entry], *, now: datetime,
                lease_seconds: float) -> int:
    """Replace `recon_ledger` by these sync-ledger entries; returns how many were loaded.

    A `pending` entry is stuck when its lease (from `claimed_at`, as of `now`) has run out or its owner
    process is gone (`owner_alive`). Only entries that are not `posted` explain exceptions, but a posted
    one lets a reason say which record ml-connector had posted; `entries` is read in chunks.
    """
    import pandas as pd  # lazily: the order sync imports this module but never loads a frame

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


def reconcile_day(conn: duckdb.DuckDBPyConnection, pack: RulePack, day: date, *, now: datetime,
                  timezone: str) -> DayResult:
    """Find `pack`'s exceptions of `day` and replace that pair's rows of the day (exceptions and totals)."""
    return reconcile_days(conn, pack, [day], now=now, timezone=timezone)[0]


def reconcile_days(conn: duckdb.DuckDBPyConnection, pack: RulePack, days: Iterable[date], *, now: datetime,
                   timezone: str, span_days: int = SPAN_DAYS,
                   timings: MutableMapping[str, float] | None = None) -> list[DayResult]:
    """Find `pack`'s exceptions of each of `days` and replace that pair's rows of those days; results by day.

    A ranged pack (RulePack.ranged) runs once per run of up to `span_days` consecutive days, any other once a day.
    `timezone` is the books' (the partitions'): ledger rules place a record on the local day it changed.
    `timings`, when given, gains the seconds each statement took (summed over spans, by `statement_name`),
    and the engine's own steps as `engine:<step>`.
    """
    ordered = sorted(set(days))
    spans = _consecutive(ordered, span_days) if pack.ranged else [[day] for day in ordered]
    return [result for span in spans for result in _reconcile_span(conn, pack, span, now, timezone, timings)]


def statement_name(sql: str) -> str:
    """A short name for a pack statement: the `_r_` object it creates, the category its rows get, the table it
    deletes from or updates, else its first words."""
    found = (re.search(r"TEMP\s+(?:TABLE|VIEW|MACRO)\s+(\w+)", sql)
             or re.search(r"'(\w+)'(?:\s+END)?\s+AS\s+category\b", sql))
    if found:
        return found.group(1)
    changed = re.match(r"\s*(DELETE\s+FROM|UPDATE)\s+(\w+)", sql, re.IGNORECASE)
    return f"{' '.join(changed.group(1).upper().split())} {changed.group(2)}" if changed else " ".join(sql.split())[:48]


@contextmanager
def _timed(timings: MutableMapping[str, float] | None, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def _consecutive(days: list[date], limit: int) -> list[list[date]]:
    spans: list[list[date]] = []
    for day in days:
        if spans and (day - spans[-1][-1]).days == 1 and len(spans[-1]) < limit:
            spans[-1].append(day)
        else:
            spans.append([day])
    return spans


def _reconcile_span(conn: duckdb.DuckDBPyConnection, pack: RulePack, span: list[date], now: datetime,
                    timezone: str, timings: MutableMapping[str, float] | None = None) -> list[DayResult]:
    params = {**pack.params, "first": span[0], "last": span[-1], "now": now, "timezone": timezone, "pair": pack.pair}
    if not pack.ranged:
        params["day"] = span[0]
    for statement in tables.ddl([pack]) + macros(pack.currency):
        conn.execute(statement)
    # The working set's tables need no order: unordered, DuckDB writes them in parallel and holds less in memory.
    # This connection only, until the rows are swapped in (sorted, so a rerun writes the same rows the same way).
    keep_order = conn.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    conn.execute("SET SESSION preserve_insertion_order = false")
    try:
        flows = [f"'{flow}'" for flow in pack.ledger_flows] or ["NULL"]
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _r_ledger AS SELECT * FROM recon_ledger "
                     f"WHERE flow IN ({', '.join(flows)})")
        conn.execute("CREATE OR REPLACE TEMP TABLE _r_days AS SELECT unnest(?::DATE[]) AS day", [span])
        for statement in [EXCEPTIONS_TABLE, *pack.statements()]:
            with _timed(timings, statement_name(statement)):
                run_sql(conn, statement, params)
        if not pack.ranged:
            run_sql(conn, "UPDATE _r_exc SET day = $day", params)
        conn.execute(f"SET SESSION preserve_insertion_order = {bool(keep_order)}")
        with _timed(timings, "engine:measures"):
            totals = _day_totals(conn, pack, span, params)
        with _timed(timings, "engine:replace days"):
            _replace_days(conn, pack, params)
        counted = conn.execute("SELECT day, category, count(*) FROM _r_exc GROUP BY ALL").fetchall()
    finally:
        conn.execute(f"SET SESSION preserve_insertion_order = {bool(keep_order)}")
        with _timed(timings, "engine:drop working set"):
            _drop_working_set(conn)
    match = (pack.match.matched, pack.match.of) if pack.match else None
    results = []
    for day, measured in zip(span, totals, strict=True):
        exceptions, unexplained = int(measured.pop("exceptions")), int(measured.pop("unexplained"))
        per_category = dict.fromkeys(pack.categories, 0) | {c: n for d, c, n in counted if d == day}
        results.append(DayResult(pack.pair, day, measured, exceptions, unexplained, per_category, match))
    return results


def run_sql(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> None:
    """Execute with the named parameters the statement uses (DuckDB refuses unused ones)."""
    used = set(re.findall(r"\$(\w+)", sql))
    conn.execute(sql, {k: v for k, v in params.items() if k in used} or None)


def _day_totals(conn: duckdb.DuckDBPyConnection, pack: RulePack, span: list[date],
                params: dict[str, Any]) -> list[dict[str, Any]]:
    """The pack's measures and the exception counts of each day, as `_r_totals` (a row a day); returned typed.

    Measures are scalar queries run a day at a time, with `$day` bound and `getvariable('recon_day')` set to it.
    """
    measures = [*(f"({m.sql}) AS \"{m.key}\"" for m in pack.measures),
                "(SELECT count(*) FROM _r_exc WHERE day = $day) AS exceptions",
                "(SELECT count(*) FROM _r_exc WHERE day = $day AND NOT explained) AS unexplained"]
    select = f"SELECT $day AS day, {', '.join(measures)}"
    for index, day in enumerate(span):
        conn.execute("SET VARIABLE recon_day = ?::DATE", [day])
        run_sql(conn, f"{'INSERT INTO _r_totals' if index else 'CREATE OR REPLACE TEMP TABLE _r_totals AS'} {select}",
                {**params, "day": day})
    conn.execute("RESET VARIABLE recon_day")
    cursor = conn.execute("SELECT * EXCLUDE (day) FROM _r_totals ORDER BY day")
    names = [c[0] for c in cursor.description]
    money = {m.key for m in pack.measures if m.money}
    return [{k: Decimal(v or 0) if k in money else int(v or 0) for k, v in zip(names, row, strict=True)}
            for row in cursor.fetchall()]


def _replace_days(conn: duckdb.DuckDBPyConnection, pack: RulePack, params: dict[str, Any]) -> None:
    """Swap in the pair's exceptions and totals of the days in one transaction (rows from before packs go too)."""
    # The owner by a CASE, not a join (a join would drop the order of the rows).
    owner = " ".join(f"WHEN '{name}' THEN '{owner}'" for name, (owner, _) in pack.categories.items())
    known = ", ".join(f"'{name}'" for name in pack.categories)
    measures = ", ".join([*(f'"{m.key}"' for m in pack.measures), "exceptions", "unexplained"])
    span = "day BETWEEN $first AND $last"
    conn.execute("BEGIN")
    try:
        run_sql(conn, f"DELETE FROM recon_exceptions WHERE {span} AND (pair = $pair OR pair IS NULL)", params)
        run_sql(conn, f"""INSERT INTO recon_exceptions BY NAME
            SELECT e.*, $pair AS pair, CASE e.category {owner} END AS owner, $now AS detected_at
            FROM _r_exc e WHERE e.category IN ({known})
            ORDER BY e.day, e.category, e.source_id NULLS FIRST, e.target_id NULLS FIRST, e.reason""", params)
        run_sql(conn, f"DELETE FROM recon_pair_totals WHERE {span} AND pair = $pair", params)
        run_sql(conn, f"""INSERT INTO recon_pair_totals
            SELECT day, $pair, measure, value, $now FROM (
                SELECT day, COLUMNS(* EXCLUDE (day))::DECIMAL(38, 4) FROM _r_totals)
            UNPIVOT (value FOR measure IN ({measures}))""", params)
        run_sql(conn, "DELETE FROM recon_pairs WHERE pair = $pair", params)
        run_sql(conn, "INSERT INTO recon_pairs VALUES ($pair, $description, $now)",
                {**params, "description": json.dumps(pack.describe(), ensure_ascii=False)})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _drop_working_set(conn: duckdb.DuckDBPyConnection) -> None:
    for kind in ("VIEW", "TABLE"):  # the views first: they may read the tables
        names = conn.execute(f"SELECT {kind.lower()}_name FROM duckdb_{kind.lower()}s() WHERE temporary"
                             f" AND starts_with({kind.lower()}_name, '_r_')").fetchall()
        for (name,) in names:
            conn.execute(f'DROP {kind} IF EXISTS "{name}"')
