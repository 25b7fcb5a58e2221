"""The ShipStation ↔ TallyPrime rules' fast paths find what the record-by-record comparison finds.

The working set takes shortcuts at a million orders a month (see pipelines/shipstation_tally/recon): only
suspect orders are mapped line by line for over-shipments, quantities are compared in one grouped pass,
orphans are looked up in every snapshot only when the working set has no record for their key. Each test
here is a record the shortcut could get wrong.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from tests.unit.test_recon_engine import D1, D2, FETCHED, Books


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def _ship_line(books: Books, sid: int, oid: int, line_key: str | None, sku: str, quantity: int) -> None:
    books.put("recon_ss_shipments", day=D1, shipment_id=sid, order_id=oid, order_number=f"WC-{oid}", voided=False,
              shipment_cost=Decimal("0.00"), tracking_number=f"1Z{sid}", fetched_at=FETCHED)
    books.put("recon_ss_shipment_lines", day=D1, shipment_id=sid, order_id=oid, line_key=line_key, sku=sku,
              quantity=quantity)


@pytest.mark.parametrize("line_key", [None, "item:elsewhere"])
def test_a_label_line_matched_by_sku_counts_towards_its_order_line(books, line_key):
    books.clean(1)  # ordered 2 of SKU-1 (line item:10), one label ships 2
    _ship_line(books, 2002, 1, line_key, "SKU-1", 1)  # its key matches no line: the SKU says which
    books.note(3002, 2002)
    books.reconcile()
    row = books.only("over_shipment")
    assert (row["source_amount"], row["target_amount"], row["target_id"]) == (Decimal(2), Decimal(3), "2001, 2002")


def test_labels_shipping_every_line_exactly_are_no_over_shipment(books):
    books.order(1, lines=(("SKU-1", 2, "20.00"), ("SKU-2", 1, "5.00")))
    books.voucher(1001, 1, amount="30.00", lines=(("SKU-1", 2), ("SKU-2", 1)))
    books.label(2001, 1, cost="2.50", lines=((0, "SKU-1", 1),))
    books.label(2002, 1, cost="2.50", lines=((0, "SKU-1", 1), (1, "SKU-2", 1)))
    books.note(3001, 2001)
    books.note(3002, 2002)
    assert books.reconcile().exceptions == 0


def test_an_item_on_one_side_only_is_a_quantity_mismatch_of_its_own(books):
    books.order(1, status="awaiting_shipment", lines=(("SKU-1", 2, "20.00"),))
    books.voucher(11, 1, amount="25.00", lines=(("SKU-1", 2), ("SKU-2", 1)))
    books.reconcile()
    row = books.only("quantity_mismatch")
    assert (row["source_amount"], row["target_amount"], row["difference"]) == (Decimal(0), Decimal(1), Decimal(1))
    assert "0 of Red Plate" in row["reason"]


def test_lines_without_an_item_on_both_sides_are_not_netted_against_each_other(books):
    """A line with no SKU in ShipStation and one with no stock item in Tally are two unknown items."""
    books.order(1, status="awaiting_shipment", lines=(("SKU-1", 2, "20.00"),))
    books.conn.execute("UPDATE recon_ss_order_lines SET sku = NULL")
    books.voucher(11, 1, amount="25.00", lines=(("SKU-1", 2),))
    books.conn.execute("UPDATE recon_tally_voucher_lines SET stock_item = NULL")
    books.reconcile()
    rows = books.exceptions()
    assert {r["category"] for r in rows} == {"quantity_mismatch"}
    assert sorted((r["source_amount"], r["target_amount"]) for r in rows) == [(0, 2), (2, 0)]
    assert all("of an item without a name" in r["reason"] for r in rows)


def test_a_voucher_keyed_to_an_order_of_another_day_is_no_orphan(books):
    books.order(7, day=D2)  # read from ShipStation, on another day than the voucher
    books.voucher(17, 7)
    books.reconcile()
    assert "voucher_without_order" not in {r["category"] for r in books.exceptions()}
    books.conn.execute("DELETE FROM recon_ss_orders")
    books.reconcile()
    assert books.only("voucher_without_order")["target_id"] == "17"


def test_a_key_with_leading_zeros_still_names_its_order(books):
    books.order(5, status="awaiting_shipment")
    books.voucher(15, 5, ext_key="ss-order-005")
    books.voucher(16, None, ext_key="ss-order-5x")  # not a key of ours
    books.reconcile()
    orphan = books.only("voucher_without_order")
    assert orphan["target_id"] == "16" and "carries no ml-connector key" in orphan["reason"]
