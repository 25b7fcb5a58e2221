"""A ranged pack reconciles a run of days in one pass and gives every day exactly what that day alone gives."""

from __future__ import annotations

from datetime import timedelta

import duckdb

from bench import recon
from pipelines.reconciliation import engine
from pipelines.shipstation_tally.recon import rule_pack


def _rows(conn: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    exceptions = conn.execute("SELECT * EXCLUDE (detected_at) FROM recon_exceptions ORDER BY ALL").fetchall()
    totals = conn.execute("SELECT day, pair, measure, value FROM recon_pair_totals ORDER BY ALL").fetchall()
    return exceptions, totals


def test_a_range_in_spans_equals_the_days_one_by_one(tmp_path):
    conn = duckdb.connect(str(tmp_path / "recon.duckdb"), config={"memory_limit": "128MB"})
    month = recon.generate(conn, 6_000, per_category=2)
    engine.load_ledger(conn, month.ledger, now=recon.NOW, lease_seconds=900)
    days = [recon.START + timedelta(days=offset) for offset in range(recon.DAYS)]
    pack = rule_pack()
    assert pack.ranged
    by_day = [engine.reconcile_day(conn, pack, day, now=recon.NOW, timezone=recon.TIMEZONE) for day in days]
    one_by_one = _rows(conn)
    in_spans = engine.reconcile_days(conn, pack, reversed(days), now=recon.NOW, timezone=recon.TIMEZONE, span_days=7)
    assert _rows(conn) == one_by_one and in_spans == by_day
    assert sum(r.exceptions for r in in_spans) == len(month.expected)
