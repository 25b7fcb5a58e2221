"""The reconciliation engine: each exception category from the record that causes it, found exactly once."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import duckdb
import pytest

from bench import recon
from pipelines.reconciliation import engine, tables
from pipelines.shipstation_tally.recon import PAIR, rule_pack
from pipelines.shipstation_tally.recon.scope import ORDERS_FLOW, SHIPMENTS_FLOW
from pipelines.shipstation_tally.recon.tables import CATEGORIES
from state.ledger import Entry

D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
TZ = "Asia/Kolkata"
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
FETCHED = datetime(2026, 3, 31, tzinfo=UTC)
ITEMS = {"SKU-1": "Blue Mug", "SKU-2": "Red Plate"}


class Books:
    """Both systems' snapshot tables, written record by record; every record is clean unless told otherwise."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        for statement in tables.ddl([rule_pack()]):
            conn.execute(statement)
        for sku, item in ITEMS.items():
            self.put("recon_sku_items", day=D1, sku=sku, stock_item=item)

    def put(self, table: str, **row) -> None:
        names = ", ".join(f"? AS {name}" for name in row)
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT {names}", list(row.values()))

    def order(self, oid: int, *, day=D1, status="shipped", customer="Asha Rao", lines=(("SKU-1", 2, "20.00"),),
              shipping="5.00", total=None, fetched=FETCHED, ship_date=None) -> None:
        goods = sum(Decimal(amount) for _, _, amount in lines)
        self.put("recon_ss_orders", day=day, order_id=oid, order_number=f"WC-{oid}", order_status=status,
                 customer=customer, order_total=Decimal(total) if total else goods + Decimal(shipping),
                 shipping_amount=Decimal(shipping), fetched_at=fetched, ship_date=ship_date)
        for index, (sku, quantity, amount) in enumerate(lines):
            self.put("recon_ss_order_lines", day=day, order_id=oid, line_key=f"item:{oid}{index}", sku=sku,
                     quantity=quantity, amount=Decimal(amount), adjustment=False)

    def voucher(self, mid: int, oid: int | None, *, day=D1, party="Asha Rao", amount="25.00", lines=(("SKU-1", 2),),
                cancelled=False, ext_key="auto", kind="Sales Order", fetched=FETCHED) -> None:
        key = (f"ss-order-{oid}" if kind == "Sales Order" else f"ss-shipment-{oid}") if ext_key == "auto" else ext_key
        self.put("recon_tally_vouchers", day=day, voucher_type=kind, master_id=mid, voucher_number=f"V-{mid}",
                 reference=f"WC-{oid}", party=party, ext_key=key, cancelled=cancelled, amount=Decimal(amount),
                 fetched_at=fetched)
        for sku, quantity in lines:
            self.put("recon_tally_voucher_lines", day=day, master_id=mid, stock_item=ITEMS[sku], quantity=quantity)

    def label(self, sid: int, oid: int, *, day=D1, voided=False, cost="5.00", lines=((0, "SKU-1", 2),),
              fetched=FETCHED) -> None:
        self.put("recon_ss_shipments", day=day, shipment_id=sid, order_id=oid, order_number=f"WC-{oid}",
                 voided=voided, shipment_cost=Decimal(cost), tracking_number=f"1Z{sid}", fetched_at=fetched)
        for index, sku, quantity in lines:
            self.put("recon_ss_shipment_lines", day=day, shipment_id=sid, order_id=oid, line_key=f"item:{oid}{index}",
                     sku=sku, quantity=quantity)

    def note(self, mid: int, sid: int, *, day=D1, cancelled=False, ext_key="auto") -> None:
        self.voucher(mid, sid, day=day, kind="Delivery Note", cancelled=cancelled, ext_key=ext_key)

    def clean(self, oid: int, *, day=D1) -> None:
        """A shipped order with its Sales Order, one label and its Delivery Note, all agreeing."""
        self.order(oid, day=day)
        self.voucher(1000 + oid, oid, day=day)
        self.label(2000 + oid, oid, day=day)
        self.note(3000 + oid, 2000 + oid, day=day)

    def stock(self, item: str, closing, skus: dict[str, int], *, day=D1) -> None:
        self.put("recon_tally_stock", day=day, stock_item=item, closing_qty=closing, fetched_at=FETCHED)
        for sku, on_hand in skus.items():
            self.put("recon_ss_inventory", day=day, sku=sku, on_hand=on_hand, fetched_at=FETCHED)

    def reconcile(self, day=D1, **options) -> engine.DayResult:
        return engine.reconcile_day(self.conn, rule_pack(**options), day, now=NOW, timezone=TZ)

    def exceptions(self, day=D1) -> list[dict]:
        cursor = self.conn.execute("SELECT * FROM recon_exceptions WHERE day = ? ORDER BY category, source_id", [day])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def only(self, category: str, day=D1, *, besides: tuple[str, ...] = ()) -> dict:
        """The day's single exception (leaving out `besides`), which must be of `category`."""
        found = [row for row in self.exceptions(day) if row["category"] not in besides]
        assert [row["category"] for row in found] == [category], [(r["category"], r["reason"]) for r in found]
        row = found[0]
        assert row["owner"] == CATEGORIES[category][0]
        return row


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def entry(flow: str, source_id: str, state: str, *, error: str | None = None, updated_at: float | None = None,
          claimed_at: float | None = None, owner: str | None = None, target_id: str | None = None,
          group_key: str | None = None) -> Entry:
    stamp = updated_at or datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp()
    return Entry(flow=flow, source_id=source_id, target="tally", external_key=f"key-{source_id}", state=state,
                 action="create", target_id=target_id, posted_hash=None, cancelled=False, attempts=1,
                 last_error=error, owner=owner, detail={"order_number": f"WC-{source_id}"}, source_payload=None,
                 claimed_at=claimed_at, updated_at=stamp, group_key=group_key)


def load(books: Books, *entries: Entry, now: datetime = NOW) -> None:
    engine.load_ledger(books.conn, entries, now=now, lease_seconds=900)


# --- a clean month ------------------------------------------------------------------------------------
def test_a_clean_month_has_no_exceptions_and_matches_everything(books):
    for day in (D1, D2, D3):
        for n in range(3):
            books.clean(int(day.strftime("%d")) * 10 + n, day=day)
        books.stock("Blue Mug", 7, {"SKU-1": 7}, day=day)
    books.order(99, status="cancelled")  # cancelled, never posted: nothing to find
    load(books, entry(ORDERS_FLOW, "20", "posted", target_id="1020"))
    results = [books.reconcile(day) for day in (D1, D2, D3)]
    assert [r.exceptions for r in results] == [0, 0, 0]
    assert results[0].totals == {"orders": 4, "order_total": Decimal("75.00"), "vouchers": 3,
                                 "voucher_amount": Decimal("75.00"), "shipments": 3, "delivery_notes": 3, "matched": 4,
                                 "stock_checked": 1, "orders_cancelled": 1, "orders_failed": 0, "orders_waiting": 0}
    assert results[0].match_rate == 1.0 and results[0].per_category == dict.fromkeys(CATEGORIES, 0)
    month = engine.month_rollup(books.conn, "2026-03")
    assert month.exception_count == 0 and month.days_reconciled == 3 and month.pair(PAIR).match_rate == 1.0
    assert month.per_day == {D1: 0, D2: 0, D3: 0} and month.pair(PAIR).stock_drift == []
    assert [p.pair for p in month.pairs] == [PAIR] and month.pair(PAIR).days_reconciled == 3


# --- orders and their vouchers ----------------------------------------------------------------------
def test_a_voucher_deleted_by_hand_leaves_an_unexplained_order_without_voucher(books):
    books.order(1, status="awaiting_shipment")
    load(books, entry(ORDERS_FLOW, "1", "posted", target_id="777"))
    books.reconcile()
    row = books.only("order_without_voucher")
    assert (row["source_system"], row["source_id"], row["target_system"], row["target_id"]) == \
        ("shipstation", "1", "tally", "777")
    assert row["source_amount"] == Decimal("25.00") and row["difference"] == Decimal("-25.00")
    assert not row["explained"]
    assert row["reason"] == ("Order WC-1 totals ₹25.00 in ShipStation, but the Sales Order ml-connector posted for it "
                             "(MasterId 777) is no longer in Tally: deleted there by hand?")


def test_an_order_whose_posting_failed_is_explained_by_the_ledger(books):
    books.order(1, status="awaiting_payment")
    load(books, entry(ORDERS_FLOW, "1", "failed", error="party ledger 'Asha Rao' does not exist in Tally",
                      updated_at=datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()))
    result = books.reconcile()
    row = books.only("order_without_voucher", besides=("sync_failed",))
    assert row["explained"] and "party ledger 'Asha Rao' does not exist" in row["explanation"]
    assert result.unexplained == 0 and result.totals["matched"] == 0
    failed = books.only("sync_failed", besides=("order_without_voucher",))  # on the order's day, not the retry's
    assert failed["source_id"] == "1" and failed["explained"]


def test_an_orphan_voucher_made_outside_ml_connector(books):
    books.voucher(55, None, ext_key=None, party="Walk-in", amount="99.00")
    books.voucher(56, 404, amount="10.00")  # our key, but ShipStation has no order 404 on any day
    books.reconcile()
    rows = books.exceptions()
    assert [(r["category"], r["target_id"], r["explained"]) for r in rows] == [
        ("voucher_without_order", "55", False), ("voucher_without_order", "56", False)]
    assert "made or edited outside ml-connector" in rows[0]["reason"]
    assert "order 404, but no such order was read from ShipStation" in rows[1]["reason"]


def test_two_active_vouchers_for_one_order_are_one_duplicate_and_nothing_else(books):
    books.order(1, status="awaiting_shipment")
    books.voucher(11, 1)
    books.voucher(12, 1, amount="30.00", day=D2)  # would mismatch amount and date too, but is not compared
    books.voucher(13, 1, cancelled=True)  # cancelled: inert
    books.reconcile()
    row = books.only("duplicate_vouchers")
    assert row["target_id"] == "11, 12" and row["target_amount"] == Decimal("55.00")
    assert books.reconcile(D2).exceptions == 0


def test_a_voucher_edited_by_hand_is_an_amount_mismatch(books):
    books.clean(1)
    books.conn.execute("UPDATE recon_tally_vouchers SET amount = 15.50 WHERE master_id = 1001")
    books.reconcile()
    row = books.only("amount_mismatch")
    assert (row["source_amount"], row["target_amount"], row["difference"]) == \
        (Decimal("25.00"), Decimal("15.50"), Decimal("-9.50"))
    assert row["reason"] == ("Order WC-1 totals ₹25.00 in ShipStation but its Sales Order in Tally (MasterId 1001) "
                             "says ₹15.50")


def test_quantities_compare_per_stock_item_through_the_sku_map(books):
    books.order(1, status="awaiting_shipment", lines=(("SKU-1", 2, "10.00"), ("SKU-2", 1, "8.00")))
    books.voucher(11, 1, amount="23.00", lines=(("SKU-1", 3), ("SKU-2", 1)))
    books.reconcile()
    row = books.only("quantity_mismatch")
    assert (row["source_amount"], row["target_amount"]) == (Decimal(2), Decimal(3))
    assert row["reason"] == ("Order WC-1 has 2 of Blue Mug in ShipStation but its Sales Order in Tally (MasterId 11) "
                             "has 3")


def test_a_different_party_is_a_customer_mismatch_but_spacing_and_case_are_not(books):
    books.clean(1)
    books.order(2, status="awaiting_shipment", customer="Asha  Rao")
    books.voucher(12, 2, party="asha rao")
    books.conn.execute("UPDATE recon_tally_vouchers SET party = 'Ravi & Sons' WHERE master_id = 1001")
    books.reconcile()
    row = books.only("customer_mismatch")
    assert row["source_id"] == "1" and '"Ravi & Sons"' in row["reason"]


def test_a_voucher_dated_the_next_day_matches_across_days_with_a_date_mismatch_only(books):
    books.order(1, status="awaiting_shipment", day=D1)
    books.voucher(11, 1, day=D2)
    assert books.reconcile(D1).exceptions == 1
    row = books.only("date_mismatch")
    assert row["difference"] == 1 and "dated 2026-03-02 in ShipStation" in row["reason"]
    result = books.reconcile(D2)
    assert result.exceptions == 0 and result.totals["vouchers"] == 1


def test_a_cancelled_order_with_an_active_voucher(books):
    books.order(1, status="cancelled")
    books.voucher(11, 1)
    books.order(2, status="cancelled")
    books.voucher(12, 2, cancelled=True)
    result = books.reconcile()
    row = books.only("cancelled_voucher_active")
    assert row["source_id"] == "1" and row["target_amount"] == Decimal("25.00")
    assert result.totals["matched"] == 1 and result.totals["order_total"] == 0


# --- labels and Delivery Notes ---------------------------------------------------------------------
def test_a_label_waiting_for_its_order_is_an_explained_shipment_without_note(books):
    books.clean(1)
    books.label(2002, 1, cost="0.00", lines=())  # a second, empty label of the same order, with no note
    load(books, entry(SHIPMENTS_FLOW, "2002", "waiting", error="waiting for the voucher of order WC-1"))
    books.reconcile()
    row = books.only("shipment_without_note")
    assert row["source_id"] == "2002" and row["explained"]
    assert row["explanation"] == "the sync is holding it back: waiting for the voucher of order WC-1"


def test_a_note_with_no_label_is_an_orphaned_shipment(books):
    books.clean(1)
    books.note(77, 999)
    books.note(78, 998, cancelled=True)
    books.reconcile()
    row = books.only("note_without_shipment")
    assert row["target_id"] == "77" and "label 999, but no such label was read from ShipStation" in row["reason"]


def test_a_voided_label_whose_note_is_still_active(books):
    books.clean(1)
    books.conn.execute("UPDATE recon_ss_shipments SET voided = true WHERE shipment_id = 2001")
    books.reconcile()
    row = books.only("voided_label_note_active")
    assert (row["source_id"], row["target_id"], row["explained"]) == ("2001", "3001", False)


def test_an_over_shipment_across_two_days_is_found_once_on_the_day_of_the_later_label(books):
    books.clean(1)  # ordered 2 of SKU-1, shipped 2
    books.label(2002, 1, day=D2, cost="0.00", lines=((0, "SKU-1", 1),))
    held_back = datetime(2026, 3, 10, 9, tzinfo=UTC).timestamp()  # its sync_failed row is on the label's day
    load(books, entry(SHIPMENTS_FLOW, "2002", "failed", group_key="1", updated_at=held_back,
                      error="shipment 2002 of order WC-1: over-shipment, not posted: line item:10"))
    assert books.reconcile(D1).exceptions == 0
    books.reconcile(D2)
    row = books.only("over_shipment", D2, besides=("sync_failed",))  # no shipment_without_note for it either
    assert books.only("sync_failed", D2, besides=("over_shipment",))["source_id"] == "2002"
    assert (row["source_amount"], row["target_amount"], row["target_id"]) == (Decimal(2), Decimal(3), "2001, 2002")
    assert row["explained"] and "over-shipment" in row["explanation"]


def test_a_held_back_label_is_missing_its_note_once_its_order_is_no_longer_over_shipped(books):
    books.clean(1)
    books.label(2002, 1, day=D2, cost="5.00", lines=((0, "SKU-1", 1),))
    held_back = datetime(2026, 3, 10, tzinfo=UTC).timestamp()
    load(books, entry(SHIPMENTS_FLOW, "2002", "failed", group_key="1", updated_at=held_back,
                      error="shipment 2002 of order WC-1: over-shipment, not posted: line item:10"))
    books.conn.execute("UPDATE recon_ss_shipments SET voided = true WHERE shipment_id = 2001")  # now it is not
    books.reconcile(D2)
    row = books.only("shipment_without_note", D2, besides=("sync_failed",))
    assert row["source_id"] == "2002" and row["explained"] and "over-shipment" in row["explanation"]


def test_a_shipped_order_with_no_label_and_no_note(books):
    books.order(1)
    books.voucher(11, 1)
    books.order(2)  # shipped through a label that has its note: fine
    books.voucher(12, 2)
    books.label(2002, 2)
    books.note(3002, 2002)
    books.reconcile()
    row = books.only("shipped_without_note")
    assert row["source_id"] == "1" and not row["explained"] and "no shipping label" in row["reason"]


def test_an_order_shipped_after_its_month_closed_is_in_transit_at_month_end_not_an_exception(books):
    books.order(1, ship_date=date(2026, 4, 2))  # a March order, label bought in April: not snapshotted for March
    books.voucher(11, 1)
    books.order(2, ship_date=D2)  # shipped within the month with no label seen: still an exception
    books.voucher(12, 2)
    result = books.reconcile()
    late, missing = (next(r for r in books.exceptions() if r["source_id"] == oid) for oid in ("1", "2"))
    assert late["category"] == "in_transit_at_month_end" and late["explained"]
    assert late["reason"] == ("Order WC-1 of March 2026 shipped on 2026-04-02, after the month closed: in transit at "
                              "month-end; its label and Delivery Note belong to April 2026")
    assert missing["category"] == "shipped_without_note" and not missing["explained"]
    assert result.unexplained == 1


def test_a_late_order_whose_labels_are_all_voided_is_still_shipped_without_note(books):
    books.order(1, ship_date=date(2026, 4, 2))
    books.voucher(11, 1)
    books.label(2001, 1, voided=True)
    books.reconcile()
    assert books.only("shipped_without_note")["source_id"] == "1"


def test_fewer_vouchers_than_orders_are_counted_by_cause(books):
    books.clean(1)
    books.order(2, status="cancelled")  # cancelled before posting
    books.order(3, status="awaiting_shipment")
    books.order(4, status="awaiting_shipment")
    load(books, entry(ORDERS_FLOW, "3", "failed", error="stock item missing"),
         entry(ORDERS_FLOW, "4", "waiting", error="customer ledger pending"))
    totals = books.reconcile().totals
    assert (totals["orders"], totals["vouchers"]) == (4, 1)
    assert (totals["orders_cancelled"], totals["orders_failed"], totals["orders_waiting"]) == (1, 1, 1)


def test_a_label_cost_above_the_shipping_charged_is_an_explained_variance(books):
    books.clean(1)
    books.conn.execute("UPDATE recon_ss_shipments SET shipment_cost = 7.25")
    books.reconcile()
    row = books.only("shipping_cost_variance")
    assert row["explained"] and row["difference"] == Decimal("2.25")
    assert row["reason"] == ("Order WC-1 charged the customer ₹5.00 for shipping; its labels (2001) cost ₹7.25 "
                             "(₹2.25 more)")
    assert books.reconcile(cost_tolerance=Decimal("3.00")).exceptions == 0


# --- stock and the ledger -----------------------------------------------------------------------------
def test_stock_drift_compares_an_item_with_the_sum_of_its_skus_only_when_both_were_counted(books):
    books.put("recon_sku_items", day=D1, sku="SKU-1B", stock_item="Blue Mug")
    books.stock("Blue Mug", 10, {"SKU-1": 7, "SKU-1B": 5})
    books.stock("Red Plate", 4, {})  # ShipStation did not count it that day
    books.reconcile()
    row = books.only("stock_drift")
    assert (row["source_id"], row["target_id"], row["source_amount"], row["target_amount"]) == \
        ("SKU-1, SKU-1B", "Blue Mug", Decimal(12), Decimal(10))
    assert row["reason"] == "Tally's closing stock of Blue Mug on 2026-03-02 is 10 but ShipStation counts 12 on hand " \
                            "(SKU SKU-1, SKU-1B)"
    drift = engine.month_rollup(books.conn, "2026-03").pair(PAIR).stock_drift
    assert drift == [engine.StockDrift("SKU-1, SKU-1B", "Blue Mug", Decimal(12), Decimal(10))]


def test_failed_and_stuck_entries_land_on_their_local_day(books):
    evening = datetime(2026, 3, 2, 20, tzinfo=UTC).timestamp()  # 01:30 on 3 March in Kolkata
    gone = f"{socket.gethostname()}:999999999:run-1"
    live = f"{socket.gethostname()}:{os.getpid()}:run-2"
    now = datetime.fromtimestamp(time.time(), UTC)
    load(books, entry(ORDERS_FLOW, "5", "failed", error="Tally refused: date locked", updated_at=evening),
         entry(SHIPMENTS_FLOW, "6", "pending", owner=gone, claimed_at=evening, updated_at=evening),
         entry(SHIPMENTS_FLOW, "7", "pending", owner=live, claimed_at=time.time() - 60, updated_at=evening),
         now=now)
    assert books.reconcile(D1).exceptions == 0
    books.reconcile(D2)
    rows = books.exceptions(D2)
    assert [(r["category"], r["source_id"], r["explained"]) for r in rows] == [
        ("sync_failed", "5", True), ("sync_stuck_pending", "6", True)]
    assert "Tally refused: date locked" in rows[0]["reason"] and "run-1" in rows[1]["explanation"]
    assert "days ago" in rows[1]["reason"]


# --- replacing, snapshots and the month -----------------------------------------------------------------
def test_reconciling_a_day_again_replaces_its_rows(books):
    books.order(1, status="awaiting_shipment")
    assert books.reconcile().exceptions == 1
    assert books.reconcile().exceptions == 1
    assert len(books.exceptions()) == 1
    books.voucher(11, 1)
    assert books.reconcile().exceptions == 0 and books.exceptions() == []


def test_a_record_snapshotted_on_two_days_counts_once_at_its_newest_snapshot(books):
    books.order(1, status="awaiting_shipment", day=D1, fetched=FETCHED - timedelta(days=5))
    books.order(1, status="awaiting_shipment", day=D2, total="30.00", lines=(("SKU-1", 2, "25.00"),))
    books.voucher(11, 1, day=D1, amount="30.00", fetched=FETCHED - timedelta(days=5))
    books.voucher(11, 1, day=D2, amount="30.00")  # the voucher's date was moved to D2 with the order
    assert books.reconcile(D1).totals["orders"] == 0 and books.exceptions(D1) == []
    result = books.reconcile(D2)
    assert (result.totals["orders"], result.totals["vouchers"], result.exceptions) == (1, 1, 0)


def test_month_rollup_sums_days_counts_categories_and_keeps_rows_in_order(books):
    books.clean(1, day=D1)
    books.order(2, status="awaiting_shipment", day=D1)
    books.clean(3, day=D2)
    books.conn.execute("UPDATE recon_tally_vouchers SET amount = 1 WHERE master_id = 1003")
    for day in (D1, D2):
        books.reconcile(day)
    month = engine.month_rollup(books.conn, "2026-03")
    pair = month.pair(PAIR)
    assert pair.totals == {"orders": 3, "order_total": Decimal("75.00"), "vouchers": 2,
                            "voucher_amount": Decimal("26.00"), "shipments": 2, "delivery_notes": 2, "matched": 1,
                           "stock_checked": 0, "orders_cancelled": 0, "orders_failed": 0, "orders_waiting": 0}
    assert pair.match_rate == pytest.approx(1 / 3) and pair.exception_count == 2
    assert month.per_day == {D1: 1, D2: 1} and month.unexplained == 2
    assert {k: v for k, v in pair.per_category.items() if v} == {"order_without_voucher": 1, "amount_mismatch": 1}
    assert list(month.exceptions["category"]) == ["order_without_voucher", "amount_mismatch"]
    assert engine.month_rollup(books.conn, "2026-04").pairs == []
    assert set(month.exceptions["pair"]) == {PAIR}


def test_a_month_of_50000_orders_finds_exactly_the_planted_exceptions(tmp_path):
    with duckdb.connect(str(tmp_path / "recon.duckdb"), config={"memory_limit": "128MB"}) as conn:
        month = recon.generate(conn, 50_000, per_category=3)
        result = recon.reconcile_month(conn, month.ledger)
    assert Counter(recon.found(result)) == Counter(month.expected)
    assert result.unexplained == month.unexplained and result.pair(PAIR).totals["orders"] == 50_000
