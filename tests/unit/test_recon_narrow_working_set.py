"""The ShipStation ↔ TallyPrime working set is narrow: what it leaves out is read back where a rule prints it.

Vouchers carry no number, reference or (for a Delivery Note) party in the working set; the orphan rules read
them back from the voucher's newest snapshot row. MasterIds are listed only where a record has several.
Quantities are compared before the order lines are dropped. Each test is a record that shortcut could get wrong.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest

from pipelines.reconciliation import engine
from pipelines.shipstation_tally.recon import rule_pack
from tests.unit.test_recon_engine import D1, D2, FETCHED, NOW, TZ, Books


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def _renumber(books: Books, mid: int, day, number: str, reference: str | None, party: str) -> None:
    books.conn.execute("UPDATE recon_tally_vouchers SET voucher_number = ?, reference = ?, party = ? "
                       "WHERE master_id = ? AND day = ?", [number, reference, party, mid, day])


def test_an_orphan_is_printed_from_its_newest_snapshot(books):
    """Snapshotted on two days with other numbers and parties: the newer snapshot's row is the one read back."""
    books.voucher(55, None, ext_key=None, day=D2, fetched=FETCHED - timedelta(days=1))
    _renumber(books, 55, D2, "OLD-55", "OLD-REF", "Old Party")
    books.voucher(55, None, ext_key=None, day=D1, amount="99.00")
    _renumber(books, 55, D1, "SO-55", None, "Walk-in")
    books.reconcile()
    row = books.only("voucher_without_order")
    assert (row["target_id"], row["order_number"], row["target_amount"]) == ("55", "SO-55", Decimal("99.00"))
    assert "Sales Order SO-55 in Tally (MasterId 55, Walk-in, ₹99.00)" in row["reason"]
    assert books.exceptions(D2) == []  # the older snapshot's day has nothing of it


def test_an_orphan_note_names_its_party_and_reference(books):
    books.clean(1)
    books.note(77, 999)
    _renumber(books, 77, D1, "DN-77", "REF-77", "Ravi Traders")
    books.reconcile()
    row = books.only("note_without_shipment")
    assert (row["target_id"], row["order_number"]) == ("77", "REF-77")
    assert "Delivery Note DN-77 in Tally (MasterId 77, Ravi Traders)" in row["reason"]


def test_a_single_voucher_is_named_by_its_master_id_and_several_are_listed(books):
    books.order(1, status="cancelled")
    books.voucher(11, 1)
    books.order(2)
    books.voucher(21, 2)
    books.voucher(23, 2)
    books.voucher(22, 2, cancelled=True)
    books.clean(3)
    books.conn.execute("UPDATE recon_ss_shipments SET voided = true WHERE shipment_id = 2003")
    books.reconcile()
    by_category = {r["category"]: r for r in books.exceptions()}
    assert by_category["cancelled_voucher_active"]["target_id"] == "11"
    assert "(MasterId 11, ₹25.00)" in by_category["cancelled_voucher_active"]["reason"]
    assert by_category["duplicate_vouchers"]["target_id"] == "21, 23"
    assert by_category["voided_label_note_active"]["target_id"] == "3003"


def test_a_quantity_mismatch_needs_one_active_voucher(books):
    """Quantities are compared before the vouchers are counted: an order with two is a duplicate only."""
    books.order(1, status="awaiting_shipment")
    books.voucher(11, 1, lines=(("SKU-1", 3),))
    books.reconcile()
    assert books.only("quantity_mismatch")["target_id"] == "11"
    books.voucher(12, 1, lines=(("SKU-1", 3),))
    books.reconcile()
    assert books.only("duplicate_vouchers")["target_id"] == "11, 12"


def test_the_working_set_is_gone_after_a_span(books):
    books.clean(1)
    engine.reconcile_days(books.conn, rule_pack(), [D1, D2], now=NOW, timezone=TZ)
    left = books.conn.execute("SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
                              "SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()
    assert [name for (name,) in left if name.startswith("_r_")] == []


def test_an_orphan_whose_snapshot_row_went_meanwhile_is_still_listed(books):
    """A day re-snapshotted while the span runs rewrites its rows: the orphan is kept, without its number."""
    books.voucher(55, None, ext_key=None, party="Walk-in", amount="99.00")
    pack = rule_pack()
    gone = "DELETE FROM recon_tally_vouchers WHERE master_id = 55"  # after the working set is read
    pack = dataclasses.replace(pack, rules=[gone, *pack.rules])
    engine.reconcile_day(books.conn, pack, D1, now=NOW, timezone=TZ)
    row = books.only("voucher_without_order")
    assert row["target_id"] == "55" and "Sales Order without a number in Tally (MasterId 55, no party" in row["reason"]
