"""The SQL the rule packs share (pipelines.reconciliation.sqlkit) and the engine's timings of pack statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import recon
from pipelines.reconciliation import engine
from pipelines.reconciliation.sqlkit import drop_older
from pipelines.shipstation_tally.recon import rule_pack

T0 = datetime(2026, 3, 1, tzinfo=UTC)

# (key or None, fetched hour, day offset, payload); a record's snapshots never tie on (fetched_at, day)
snapshots = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 6)), st.integers(0, 3), st.integers(0, 3),
                               st.integers(0, 10**6)), max_size=40,
                     unique_by=lambda row: (row[0], row[1], row[2]))


def _table(conn: duckdb.DuckDBPyConnection, name: str, rows: list[tuple]) -> None:
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} (k BIGINT, fetched_at TIMESTAMPTZ, day DATE, payload BIGINT)")
    if rows:
        conn.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?)",
                         [(k, T0 + timedelta(hours=h), date(2026, 3, 1) + timedelta(days=d), p) for k, h, d, p in rows])


@settings(max_examples=60, deadline=None)
@given(snapshots)
def test_drop_older_keeps_what_the_window_keeps(rows):
    conn = duckdb.connect()
    _table(conn, "_r_snaps", rows)
    window = conn.execute("""SELECT * FROM _r_snaps
        QUALIFY row_number() OVER (PARTITION BY k ORDER BY fetched_at DESC, day DESC) = 1""").fetchall()
    conn.execute(drop_older("_r_snaps", "k"))
    kept = conn.execute("SELECT * FROM _r_snaps").fetchall()
    assert sorted(kept, key=repr) == sorted(window, key=repr)
    assert len(kept) == len({row[0] for row in rows})  # one row a key, NULL included


def test_drop_older_takes_the_latest_fetch_then_the_latest_day():
    conn = duckdb.connect()
    _table(conn, "_r_snaps", [(1, 0, 3, 10), (1, 2, 0, 11), (1, 2, 1, 12), (2, 0, 0, 20), (None, 1, 0, 30),
                              (None, 1, 2, 31)])
    conn.execute(drop_older("_r_snaps", "k"))
    assert sorted(conn.execute("SELECT k, payload FROM _r_snaps").fetchall(), key=repr) == [
        (1, 12), (2, 20), (None, 31)]


@pytest.mark.parametrize(("sql", "name"), [
    ("CREATE OR REPLACE TEMP TABLE _r_over AS SELECT 1", "_r_over"),
    ("CREATE OR REPLACE TEMP MACRO _r_why(a) AS a", "_r_why"),
    ("INSERT INTO _r_exc BY NAME SELECT 'amount_mismatch' AS category, 1 AS x", "amount_mismatch"),
    ("INSERT INTO _r_exc BY NAME SELECT CASE WHEN late THEN 'in_transit' ELSE 'shipped_without_note' END AS category",
     "shipped_without_note"),
    ("DELETE  FROM _r_range_orders WHERE rowid IN (SELECT 1)", "DELETE FROM _r_range_orders"),
    ("SELECT 1   AS x", "SELECT 1 AS x"),
])
def test_statement_names(sql, name):
    assert engine.statement_name(sql) == name


def test_reconcile_days_times_each_statement_of_the_pack():
    conn = duckdb.connect(config={"memory_limit": "128MB"})
    month = recon.generate(conn, 600, per_category=1)
    timings: dict[str, float] = {}
    recon.reconcile_month(conn, month.ledger, timings)
    pack = rule_pack()
    assert {engine.statement_name(sql) for sql in pack.statements()} <= set(timings)
    assert {"engine:measures", "engine:replace days"} <= set(timings)
    assert all(seconds >= 0 for seconds in timings.values())
    assert sorted(recon.found(engine.month_rollup(conn, "2026-03"))) == sorted(month.expected)


@pytest.mark.parametrize("preserve", [True, False])
def test_reconciling_leaves_the_connection_as_it_found_it(preserve):
    conn = duckdb.connect(config={"memory_limit": "128MB"})
    conn.execute(f"SET SESSION preserve_insertion_order = {preserve}")
    month = recon.generate(conn, 300, per_category=1)
    recon.reconcile_month(conn, month.ledger)
    assert conn.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is preserve
    assert conn.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0
