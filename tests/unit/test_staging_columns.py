"""Staging writes column lists straight into DuckDB: the table's own types, exact amounts, no pandas anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from state.staging import StagingStore, decimal_text, insert_columns

ROOT = Path(__file__).resolve().parents[2]
PACIFIC = ZoneInfo("America/Los_Angeles")
FETCHED = datetime(2026, 4, 2, 8, 15, tzinfo=UTC)


def column_types(store: StagingStore, table: str) -> dict[str, str]:
    with store.connect() as conn:
        return dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns"
                                 " WHERE table_name = ?", [table]).fetchall())


def test_a_page_of_orders_keeps_instants_ids_and_raw_text(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    modified = datetime(2026, 4, 1, 9, 30, tzinfo=PACIFIC)  # ShipStation V1 speaks Pacific time
    page = [{"orderId": "101", "orderNumber": "SO-101", "orderStatus": "shipped", "note": "café"},
            {"orderId": 102, "orderNumber": None, "orderStatus": None}]
    assert store.stage_orders("run", 4, FETCHED, page, [modified, None]) == 6
    with store.connect() as conn:
        rows = conn.execute("SELECT run_id, seq, order_id, order_number, order_status, modify_date, fetched_at, raw"
                            " FROM shipstation_orders_staged ORDER BY seq").fetchall()
    assert [r[:5] for r in rows] == [("run", 4, 101, "SO-101", "shipped"), ("run", 5, 102, "", None)]
    assert rows[0][5] == modified and rows[0][5].utcoffset().total_seconds() == 0  # the same instant, in UTC
    assert rows[1][5] is None
    assert {r[6] for r in rows} == {FETCHED}
    assert [json.loads(r[7]) for r in rows] == page
    assert column_types(store, "shipstation_orders_staged")["modify_date"] == "TIMESTAMP WITH TIME ZONE"


def test_shipments_keep_a_missing_order_id_as_null_and_their_dates(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    created = datetime(2026, 4, 1, 23, 59, 59, 123000, tzinfo=PACIFIC)
    page = [{"shipmentId": 1, "orderId": "10", "orderNumber": "SO-10"}, {"shipmentId": 2, "orderId": "n/a"}]
    store.stage_shipments("run", 0, FETCHED, page, [(created, None), (None, FETCHED)])
    with store.connect() as conn:
        rows = conn.execute("SELECT shipment_id, order_id, order_number, voided, create_date, void_date"
                            " FROM shipstation_shipments ORDER BY shipment_id").fetchall()
    assert rows == [(1, 10, "SO-10", False, created, None), (2, None, "", False, None, FETCHED)]


def test_stock_quantities_are_cast_exactly_to_the_tables_decimal(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    store.replace_tally_stock_items(FETCHED, [
        {"name": "Widget", "aliases": ["W-1"], "base_unit": "nos", "parent": None, "closing_qty": Decimal("12.3456")},
        {"name": "Gadget", "closing_qty": Decimal("1E+6")},
        {"name": "Sprocket", "closing_qty": None},
        {"name": "Cog", "closing_qty": Decimal("0.1") * 3}])  # 0.3 exactly: no float on the way
    with store.connect() as conn:
        rows = conn.execute("SELECT name, aliases, base_unit, closing_qty, fetched_at FROM tally_stock_items"
                            " ORDER BY name").fetchall()
    assert rows == [("Cog", "[]", None, Decimal("0.3000"), FETCHED),
                    ("Gadget", "[]", None, Decimal("1000000.0000"), FETCHED),
                    ("Sprocket", "[]", None, None, FETCHED),
                    ("Widget", '["W-1"]', "nos", Decimal("12.3456"), FETCHED)]
    assert column_types(store, "tally_stock_items")["closing_qty"] == "DECIMAL(18,4)"
    store.replace_tally_stock_items(FETCHED, [])  # a company without stock items empties the snapshot
    assert store.tally_closing_stock() == {}


def test_masters_snapshots_replace_the_previous_one(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    store.replace_tally_ledgers(FETCHED, [("Asha & Co", "Sundry Debtors", ["AC"]), ("Sales", None, [])])
    store.replace_tally_ledgers(FETCHED, [("Asha & Co", "Sundry Debtors", ["AC", "Asha"])])
    assert store.tally_ledgers() == [("Asha & Co", ["AC", "Asha"])]
    store.replace_shipstation_products(FETCHED, [{"productId": "7", "sku": " SKU-7 ", "name": "Seven"},
                                                 {"productId": None, "sku": None, "active": False}])
    assert store.shipstation_products() == [("", None, False), ("SKU-7", "Seven", True)]
    store.replace_shipstation_customers(FETCHED, [{"customerId": "x", "name": "No id", "email": None}])
    assert store.shipstation_customers() == [(None, "No id", None)]


def test_columns_of_unequal_length_are_refused_by_table_name(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    with store.connect() as conn, pytest.raises(ValueError, match="shipstation_products.*unequal"):
        insert_columns(conn, "shipstation_products", {"sku": ["a", "b"], "name": ["only one"]}, {"fetched_at": FETCHED})
    assert store.shipstation_products() == []


def test_the_stores_own_work_runs_on_one_thread_and_callers_sql_on_every_core(tmp_path, monkeypatch):
    store, seen = StagingStore(tmp_path / "s.duckdb"), []
    real = store._open

    def noted(*args):
        conn = real(*args)
        seen.append(conn.execute("SELECT current_setting('threads'), current_setting('max_vacuum_tasks')").fetchone())
        return conn

    monkeypatch.setattr(store, "_open", noted)
    store.stage_orders("run", 0, FETCHED, [{"orderId": 1}], [None])
    assert [len(c) for c in store.iter_staged_orders("run")] == [1]
    assert seen == [(1, seen[0][1])] * 2 and seen[0][1] > 0  # one page: the run's last unit vacuums
    with store.connect() as conn:  # reconciliation's SQL over whole tables
        assert conn.execute("SELECT current_setting('threads')").fetchone()[0] == duckdb_default_threads()


def duckdb_default_threads() -> int:
    import duckdb

    with duckdb.connect() as conn:
        return conn.execute("SELECT current_setting('threads')").fetchone()[0]


def test_a_float_amount_is_refused():
    assert decimal_text(Decimal("2.50")) == "2.50" and decimal_text(None) is None and decimal_text(3) == "3"
    with pytest.raises(TypeError, match="float"):
        decimal_text(2.5)


NO_PANDAS = """
import json, sys
from datetime import UTC, datetime
from decimal import Decimal
from ml_connector.config import Settings
from pipelines.definitions import build_definitions
from pipelines.walmart_tally.staging import WalmartStaging
from state.staging import StagingStore
build_definitions(Settings.from_env())
now = datetime.now(UTC)
store = StagingStore(sys.argv[1])
store.stage_orders("run", 0, now, [{"orderId": 1, "orderNumber": "SO-1"}], [now])
store.stage_shipments("run", 0, now, [{"shipmentId": 1, "orderId": 1}], [(now, None)])
store.replace_tally_ledgers(now, [("Sales", None, [])])
store.replace_tally_stock_items(now, [{"name": "Widget", "closing_qty": Decimal("1.5")}])
WalmartStaging(store).stage("orders", "run", 0, now, [{"purchaseOrderId": "P1"}], ["P1"], ["C1"], [now])
print(json.dumps({"loaded": sorted(m for m in ("pandas", "numpy", "pyarrow") if m in sys.modules),
                  "staged": sum(len(c) for c in store.iter_staged_orders("run"))}))
"""


def test_the_code_location_and_its_staging_writes_never_load_pandas(tmp_path):
    """pandas is ~44 MB resident: the order sync's process (the whole code location loaded) must not pay it."""
    out = subprocess.run([sys.executable, "-c", NO_PANDAS, str(tmp_path / "s.duckdb")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"loaded": [], "staged": 1}
