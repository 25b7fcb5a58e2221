"""Reconciliation snapshots: days across Pacific/IST boundaries, order/label/voucher rows, the partition store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import dagster as dg
import pytest

from connectors.tally.models import InventoryEntry, LedgerEntry, StockItemRecord, VoucherRecord
from pipelines.reconciliation.snapshot_assets import daily_partitions
from pipelines.reconciliation.store import ReconStore
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.recon import snapshots as snap
from pipelines.shipstation_tally.recon.assets import SNAPSHOT_KEYS, build_snapshot_assets, days, stale_note
from pipelines.shipstation_tally.recon.tables import SNAPSHOTS
from pipelines.shipstation_tally.settings import ShipStationTallySettings

IST = "Asia/Kolkata"
NOW = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
APRIL_1, MARCH_31 = date(2026, 4, 1), date(2026, 3, 31)


def raw_order(order_id: int = 512000051, order_date: str | None = "2026-03-31T20:30:00.0000000", **extra) -> dict:
    """A V1 order as the API sends it (Pacific wall times without offset, reference §1.3)."""
    return {
        "orderId": order_id, "orderNumber": f"WC-{order_id}", "orderDate": order_date,
        "createDate": "2026-03-31T20:31:05.5200000", "modifyDate": "2026-04-01T08:00:00.0000000",
        "orderStatus": "awaiting_shipment", "customerEmail": "priya@example.in",
        "billTo": {"name": "  Priya   Nair "}, "shipTo": {"name": "Priya Nair"},
        "orderTotal": Decimal("503.10"), "shippingAmount": Decimal("49.00"), "taxAmount": Decimal("0.00"),
        "items": [
            {"orderItemId": 903000101, "lineItemKey": "1", "sku": "TEA-GRN-250", "name": "Green Tea 250g",
             "quantity": 3, "unitPrice": Decimal("150.00"), "adjustment": False},
            {"orderItemId": None, "lineItemKey": "2", "sku": "SPC-TUR-100", "name": "Turmeric 100g",
             "quantity": 1, "unitPrice": Decimal("44.10"), "adjustment": False},
            {"orderItemId": None, "lineItemKey": None, "sku": None, "name": "Coupon",
             "quantity": 1, "unitPrice": Decimal("-40.00"), "adjustment": True},
        ],
        **extra,
    }


def raw_label(shipment_id: int = 260017002, create_date: str = "2026-03-31T11:29:59.9990000", **extra) -> dict:
    items = [{"orderItemId": 903000101, "lineItemKey": "1", "sku": "TEA-GRN-250", "name": "Green Tea 250g",
              "quantity": 2, "unitPrice": Decimal("150.00")},
             {"orderItemId": None, "lineItemKey": None, "sku": None, "name": "Coupon", "quantity": 1,
              "unitPrice": Decimal("-40.00"), "adjustment": True}]
    return {"shipmentId": shipment_id, "orderId": 512000051, "orderNumber": "WC-512000051",
            "createDate": create_date, "shipDate": "2026-03-31", "shipmentCost": Decimal("78.00"),
            "trackingNumber": "770260017002", "carrierCode": "fedex", "voided": False, "voidDate": None,
            "shipmentItems": items, **extra}


def order_voucher(**extra) -> VoucherRecord:
    fields = {
        "guid": "g-1", "master_id": 101, "voucher_type": "Sales Order", "date": APRIL_1,
        "voucher_number": "WC-512000051", "reference": "WC-512000051", "party_ledger": "Priya Nair",
        "narration": "ShipStation order WC-512000051 [ext:ss-order-512000051]",
        "ledger_entries": [LedgerEntry(ledger_name="Priya Nair", amount=Decimal("-503.10"), is_party=True),
                           LedgerEntry(ledger_name="Shipping Charges", amount=Decimal("49.00"))],
        "inventory_entries": [InventoryEntry(stock_item="Green Tea 250g", quantity=Decimal(3), unit="Nos",
                                             rate=Decimal(150), amount=Decimal("450.00"), order_no="WC-512000051")],
    }
    return VoucherRecord(**(fields | extra))


# --- days ------------------------------------------------------------------------------------------
def test_an_order_at_2030_pacific_on_31_march_is_on_1_april_in_the_books():
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [raw_order()], IST, NOW)
    [row] = snapshot.rows.values()
    assert row["day"] == APRIL_1  # 2026-03-31 20:30 PDT = 2026-04-01 09:00 IST
    assert row["order_date"] == datetime(2026, 4, 1, 3, 30, tzinfo=UTC)
    assert snap.business_day(row["order_date"], "America/Los_Angeles") == MARCH_31


def test_the_last_second_of_an_ist_day_stays_on_that_day_and_out_of_the_next():
    late = raw_order(1, "2026-03-31T11:29:59.9990000")  # 23:59:59.999 IST on 31 March
    first = raw_order(2, "2026-03-31T11:30:00.0000000")  # 00:00:00 IST on 1 April
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [late, first], IST, NOW)
    assert list(snapshot.rows) == [2] and snapshot.other_days == 1


def test_the_order_query_asks_for_the_ist_day_in_pacific_wall_time_with_an_hour_either_side():
    assert snap.day_bounds(APRIL_1, IST) == (datetime(2026, 3, 31, 18, 30, tzinfo=UTC),
                                             datetime(2026, 4, 1, 18, 30, tzinfo=UTC))
    assert snap.order_query(APRIL_1, IST) == {"orderDateStart": "2026-03-31 10:30:00",
                                              "orderDateEnd": "2026-04-01 12:30:00",
                                              "sortBy": "OrderDate", "sortDir": "ASC"}


def test_the_order_query_follows_the_pacific_spring_forward():
    # 8 March 2026: Pacific jumps from PST (UTC-8) to PDT (UTC-7) while the IST day runs.
    assert snap.order_query(date(2026, 3, 8), IST) == {
        "orderDateStart": "2026-03-07 09:30:00", "orderDateEnd": "2026-03-08 12:30:00",
        "sortBy": "OrderDate", "sortDir": "ASC"}


def test_a_day_in_pacific_books_has_23_hours_on_the_spring_forward():
    start, end = snap.day_bounds(date(2026, 3, 8), "America/Los_Angeles")
    assert (end - start).total_seconds() == 23 * 3600


def test_an_order_without_order_date_is_dated_by_its_create_date():
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [raw_order(order_date=None)], IST, NOW)
    [row] = snapshot.rows.values()
    assert row["day"] == APRIL_1 and row["order_date"] == datetime(2026, 4, 1, 3, 31, 5, 520000, tzinfo=UTC)


# --- ShipStation rows ------------------------------------------------------------------------------
def test_order_rows_carry_the_voucher_party_money_as_decimal_and_line_keys():
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [raw_order()], IST, NOW)
    [row] = snapshot.rows.values()
    assert row["customer"] == "Priya Nair"  # customer_ledger_name: bill-to, spaces collapsed
    assert row["order_total"] == Decimal("503.10") and isinstance(row["order_total"], Decimal)
    assert row["shipping_amount"] == Decimal("49.00") and row["fetched_at"] == NOW
    lines = snapshot.lines[512000051]
    assert [(ln["line_key"], ln["sku"], ln["quantity"], ln["amount"], ln["adjustment"]) for ln in lines] == [
        ("item:903000101", "TEA-GRN-250", Decimal(3), Decimal("450.00"), False),
        ("key:2", "SPC-TUR-100", Decimal(1), Decimal("44.10"), False),
        ("sku:None", None, Decimal(1), Decimal("-40.00"), True),
    ]


def test_an_order_met_twice_across_pages_is_kept_once():
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [raw_order()], IST, NOW)
    snap.add_orders(snapshot, [raw_order(orderStatus="shipped")], IST, NOW)
    assert len(snapshot.rows) == 1 and snapshot.rows[512000051]["order_status"] == "shipped"
    assert snapshot.line_count == 3


def test_an_order_that_does_not_parse_still_gets_a_row_and_is_reported():
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [raw_order(orderTotal="not money")], IST, NOW)
    [row] = snapshot.rows.values()
    assert row["order_id"] == 512000051 and row["day"] == APRIL_1 and row["order_status"] == "awaiting_shipment"
    assert snapshot.lines[512000051] == []
    [problem] = snapshot.problems
    assert "orderId=512000051" in problem["record"] and "orderTotal" in problem["error"]


def test_an_order_without_a_customer_name_has_no_customer():
    snapshot = snap.Snapshot(APRIL_1)
    snap.add_orders(snapshot, [raw_order(billTo=None, shipTo=None, customerEmail=None)], IST, NOW)
    assert snapshot.rows[512000051]["customer"] is None


def test_labels_are_dated_by_create_date_and_voided_ones_are_kept():
    snapshot = snap.Snapshot(MARCH_31)
    voided = raw_label(260017003, "2026-03-31T09:00:00.0000000", voided=True, voidDate="2026-04-01T10:00:00.000")
    snap.add_shipments(snapshot, [raw_label(), voided, raw_label(260017004, "2026-03-31T11:30:00.0000000")],
                       IST, NOW)
    assert sorted(snapshot.rows) == [260017002, 260017003] and snapshot.other_days == 1
    row = snapshot.rows[260017003]
    assert row["voided"] is True and row["void_date"] == datetime(2026, 4, 1, 17, 0, tzinfo=UTC)
    assert row["shipment_cost"] == Decimal("78.00") and row["tracking_number"] == "770260017002"
    assert snapshot.lines[260017002] == [{"day": MARCH_31, "shipment_id": 260017002, "order_id": 512000051,
                                          "line_key": "item:903000101", "sku": "TEA-GRN-250",
                                          "quantity": Decimal(2)}]  # the discount line moves no goods


# --- Tally rows ------------------------------------------------------------------------------------
def test_an_order_voucher_row_has_our_key_the_party_amount_and_its_stock_lines():
    row, lines = snap.voucher_rows(order_voucher(), NOW)
    assert row == {"day": APRIL_1, "voucher_type": "Sales Order", "master_id": 101, "guid": "g-1",
                   "voucher_number": "WC-512000051", "reference": "WC-512000051", "party": "Priya Nair",
                   "ext_key": "ss-order-512000051", "cancelled": False, "amount": Decimal("503.10"),
                   "fetched_at": NOW}
    assert lines == [{"day": APRIL_1, "master_id": 101, "stock_item": "Green Tea 250g", "quantity": Decimal(3),
                      "amount": Decimal("450.00"), "order_no": "WC-512000051", "tracking_number": None}]


def test_a_voucher_without_our_marker_was_made_outside_ml_connector():
    row, _ = snap.voucher_rows(order_voucher(narration="Phone order, entered by Ramesh"), NOW)
    assert row["ext_key"] is None
    assert snap.ext_key(None) is None


def test_a_cancelled_voucher_is_kept_and_marked_cancelled():
    row, lines = snap.voucher_rows(order_voucher(is_cancelled=True, ledger_entries=[], inventory_entries=[]), NOW)
    assert row["cancelled"] is True and row["amount"] is None and lines == []


def test_the_party_line_is_found_by_name_when_tally_does_not_flag_it():
    entries = [LedgerEntry(ledger_name="Priya Nair", amount=Decimal("-503.10")),
               LedgerEntry(ledger_name="Sales", amount=Decimal("503.10"))]
    assert snap.voucher_amount(order_voucher(ledger_entries=entries)) == Decimal("503.10")


def test_delivery_note_lines_carry_order_number_and_tracking_number():
    note = order_voucher(
        voucher_type="Delivery Note", master_id=202, voucher_number="SS-260017002", reference="770260017002",
        narration="ShipStation shipment 260017002 of order WC-512000051 [ext:ss-shipment-260017002]",
        ledger_entries=[],
        inventory_entries=[
            InventoryEntry(stock_item="Green Tea 250g", quantity=Decimal(2), unit="Nos", rate=Decimal(150),
                           amount=Decimal("300.00"), order_no="WC-512000051", tracking_number="SS-260017002"),
            InventoryEntry(stock_item="Turmeric 100g", quantity=Decimal(1), unit="Nos", rate=Decimal("44.1"),
                           amount=Decimal("44.10"), order_no="WC-512000051", tracking_number="SS-260017002")])
    row, lines = snap.voucher_rows(note, NOW)
    assert row["ext_key"] == "ss-shipment-260017002" and row["amount"] == Decimal("344.10")  # no party line
    assert {(ln["order_no"], ln["tracking_number"]) for ln in lines} == {("WC-512000051", "SS-260017002")}


def test_an_inward_voucher_keeps_magnitudes():
    inward = order_voucher(voucher_type="Purchase Order", ledger_entries=[
        LedgerEntry(ledger_name="Priya Nair", amount=Decimal("503.10"), is_party=True)], inventory_entries=[
        InventoryEntry(stock_item="Green Tea 250g", quantity=Decimal(3), unit="Nos", rate=Decimal(150),
                       amount=Decimal("-450.00"))])
    row, [line] = snap.voucher_rows(inward, NOW)
    assert row["amount"] == Decimal("503.10") and line["amount"] == Decimal("450.00")


def test_a_voucher_dated_another_day_is_counted_not_kept():
    snapshot = snap.Snapshot(MARCH_31)
    snap.add_vouchers(snapshot, [order_voucher()], NOW)
    assert snapshot.rows == {} and snapshot.other_days == 1


# --- stock -----------------------------------------------------------------------------------------
def test_stock_inventory_and_sku_items():
    items = [StockItemRecord(name="Green Tea 250g", aliases=["TEA-GRN-250"], closing_qty=Decimal("-2")),
             StockItemRecord(name="SPC-TUR-100", closing_qty=None)]
    assert snap.stock_rows(items, APRIL_1, NOW) == [
        {"day": APRIL_1, "stock_item": "Green Tea 250g", "closing_qty": Decimal("-2"), "fetched_at": NOW},
        {"day": APRIL_1, "stock_item": "SPC-TUR-100", "closing_qty": None, "fetched_at": NOW}]
    assert snap.inventory_rows([("TEA-GRN-250", 3), ("TEA-GRN-250 ", 4), ("", 9)], APRIL_1, NOW) == [
        {"day": APRIL_1, "sku": "TEA-GRN-250", "on_hand": Decimal(7), "fetched_at": NOW}]
    resolver = SkuResolver.build([(i.name, i.aliases, None) for i in items], {"OLD-TEA": "Green Tea 250g"})
    rows, unmapped = snap.sku_item_rows(["TEA-GRN-250", "SPC-TUR-100", "OLD-TEA", "NOPE", None, "TEA-GRN-250"],
                                        resolver, APRIL_1)
    assert [(r["sku"], r["stock_item"]) for r in rows] == [
        ("OLD-TEA", "Green Tea 250g"), ("SPC-TUR-100", "SPC-TUR-100"), ("TEA-GRN-250", "Green Tea 250g")]
    assert unmapped == ["NOPE"]


# --- the store -------------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path) -> ReconStore:
    return ReconStore.at(tmp_path / "staging.duckdb", SNAPSHOTS)


def order_frames(day: date, *order_ids: int) -> dict:
    snapshot = snap.Snapshot(day)
    date_text = "2026-03-31T20:30:00" if day == APRIL_1 else "2026-03-30T20:30:00"
    snap.add_orders(snapshot, [raw_order(i, date_text) for i in order_ids], IST, NOW)
    return snapshot.frames("recon_ss_orders", "recon_ss_order_lines")


def test_replacing_a_partition_replaces_it_and_leaves_other_days_alone(store):
    store.replace_partitions(MARCH_31, order_frames(MARCH_31, 1, 2))
    store.replace_partitions(APRIL_1, order_frames(APRIL_1, 3, 4, 5))
    assert store.replace_partitions(APRIL_1, order_frames(APRIL_1, 3, 4)) == {
        "recon_ss_orders": 2, "recon_ss_order_lines": 6}
    assert store.counts_by_day("recon_ss_orders") == {MARCH_31: 2, APRIL_1: 2}
    assert store.counts_by_day("recon_ss_order_lines") == {MARCH_31: 6, APRIL_1: 6}
    store.replace_partitions(APRIL_1, order_frames(APRIL_1))
    assert store.counts_by_day("recon_ss_orders") == {MARCH_31: 2}


def test_values_come_back_exactly(store):
    store.replace_partitions(APRIL_1, order_frames(APRIL_1, 7))
    row = store.read_partition("recon_ss_orders", APRIL_1).iloc[0]
    assert row["order_total"] == Decimal("503.10") and isinstance(row["order_total"], Decimal)
    assert row["order_date"] == datetime(2026, 4, 1, 3, 30, tzinfo=UTC) and row["customer"] == "Priya Nair"
    lines = store.read_partition("recon_ss_order_lines", APRIL_1)
    assert sorted(lines["amount"]) == [Decimal("-40.00"), Decimal("44.10"), Decimal("450.00")]
    big = snap.frame([{"day": APRIL_1, "stock_item": "X", "closing_qty": Decimal("12345678901234.0001"),
                       "fetched_at": NOW}])
    store.replace_partition("recon_tally_stock", APRIL_1, big)
    assert store.read_partition("recon_tally_stock", APRIL_1)["closing_qty"][0] == Decimal("12345678901234.0001")


def test_a_failed_write_changes_nothing(store):
    store.replace_partitions(APRIL_1, order_frames(APRIL_1, 1))
    broken = order_frames(APRIL_1, 2) | {"recon_sku_items": snap.frame([{"day": APRIL_1, "sku": "A",
                                                                          "stock_item": None}])}
    with pytest.raises(Exception, match="NOT NULL"):
        store.replace_partitions(APRIL_1, broken)
    assert list(store.read_partition("recon_ss_orders", APRIL_1)["order_id"]) == [1]


def test_rows_of_another_day_or_unknown_columns_are_refused(store):
    with pytest.raises(ValueError, match="other days"):
        store.replace_partitions(MARCH_31, order_frames(APRIL_1, 1))
    with pytest.raises(ValueError, match="no column"):
        store.replace_partition("recon_tally_stock", APRIL_1, snap.frame([{"day": APRIL_1, "colour": "red"}]))
    with pytest.raises(ValueError, match="not a day-partitioned reconciliation table"):
        store.replace_partition("shipstation_orders_staged", APRIL_1, snap.frame([]))


# --- partitions ------------------------------------------------------------------------------------
def test_partitions_are_local_days_and_the_assets_share_them():
    partitions = daily_partitions(date(2026, 2, 1), IST)
    window = partitions.time_window_for_partition_key("2026-04-01")
    assert window.start.isoformat() == "2026-04-01T00:00:00+05:30"
    assets = build_snapshot_assets(date(2026, 2, 1), IST)
    assert [a.key for a in assets] == list(SNAPSHOT_KEYS)
    assert all(a.partitions_def == partitions for a in assets)
    assert {a.key: a.group_names_by_key[a.key] for a in assets} == dict.fromkeys(SNAPSHOT_KEYS, "reconciliation")
    assert isinstance(assets[0].backfill_policy, dg.BackfillPolicy)


def test_a_range_run_walks_its_days_in_the_books_time_zone_only():
    context = SimpleNamespace(partition_keys=["2026-03-31", "2026-04-01"])
    assert list(days(context, ShipStationTallySettings(timezone=IST), IST)) == [MARCH_31, APRIL_1]
    with pytest.raises(dg.Failure, match="TALLY_TIMEZONE is UTC"):
        days(context, ShipStationTallySettings(timezone="UTC"), IST)


def test_inventory_read_long_after_the_day_is_flagged():
    assert stale_note(MARCH_31, datetime(2026, 4, 1, 10, tzinfo=UTC), IST, read=True) is None
    assert "no inventory history" in stale_note(MARCH_31, datetime(2026, 4, 2, 10, tzinfo=UTC), IST, read=True)
    assert stale_note(MARCH_31, datetime(2026, 4, 9, tzinfo=UTC), IST, read=False) is None


def test_shipstation_counts_stand_only_for_the_day_they_were_read_or_the_day_before():
    from datetime import UTC, date, datetime

    from pipelines.shipstation_tally.recon.assets import counted_as_of, stale_note

    day = date(2026, 3, 10)
    nightly = datetime(2026, 3, 10, 20, 30, tzinfo=UTC)  # 02:00 IST on the 11th
    assert counted_as_of(day, datetime(2026, 3, 10, 6, 0, tzinfo=UTC), "Asia/Kolkata")
    assert counted_as_of(day, nightly, "Asia/Kolkata")
    assert not counted_as_of(day, datetime(2026, 3, 12, 6, 0, tzinfo=UTC), "Asia/Kolkata")
    assert not counted_as_of(day, datetime(2026, 3, 9, 6, 0, tzinfo=UTC), "Asia/Kolkata")  # before the day
    assert stale_note(day, nightly, "Asia/Kolkata", True) is None
    assert "no stock drift" in stale_note(day, datetime(2026, 11, 1, tzinfo=UTC), "Asia/Kolkata", True)


def test_a_range_of_days_is_read_a_week_per_scan_and_each_record_goes_to_its_day():
    from datetime import date, timedelta

    from pipelines.reconciliation.snapshot_assets import weeks
    from pipelines.shipstation_tally.recon import snapshots as snap

    march = [date(2026, 3, 1) + timedelta(days=n) for n in range(31)]
    assert [len(w) for w in weeks(march)] == [7, 7, 7, 7, 3]
    assert [len(w) for w in weeks([date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 9)])] == [2, 1]  # gaps split
    scan = snap.RangeSnapshot(march[:2])
    for key, day in ((1, date(2026, 3, 1)), (2, date(2026, 3, 2)), (3, date(2026, 3, 3))):
        scan.put(key, {"day": day}, [])
    assert {d: list(s.rows) for d, s in scan.by_day.items()} == {date(2026, 3, 1): [1], date(2026, 3, 2): [2]}
    assert scan.other_days == 1
    query = snap.order_query(march[0], "Asia/Kolkata", march[6])
    assert query["orderDateStart"] == "2026-02-28 09:30:00" and query["orderDateEnd"] == "2026-03-07 11:30:00"


def test_a_staging_file_written_before_a_column_existed_gains_it(tmp_path):
    import duckdb
    import pandas as pd

    from pipelines.reconciliation.store import ReconStore
    from pipelines.shipstation_tally.recon.tables import SNAPSHOTS

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as conn:  # recon_ss_orders as it was before ship_date
        conn.execute("CREATE TABLE recon_ss_orders (day DATE NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR,"
                     " order_status VARCHAR, order_date TIMESTAMPTZ, customer VARCHAR, order_total DECIMAL(18, 2),"
                     " shipping_amount DECIMAL(18, 2), fetched_at TIMESTAMPTZ NOT NULL)")
        conn.execute("INSERT INTO recon_ss_orders VALUES"
                     " ('2026-03-02', 1, 'WC-1', 'shipped', NULL, NULL, 10, 0, now())")
    store = ReconStore.at(path, SNAPSHOTS)
    assert store.types["recon_ss_orders"]["ship_date"] == "DATE"
    row = store.read_partition("recon_ss_orders", date(2026, 3, 2)).iloc[0]
    assert row["order_number"] == "WC-1" and pd.isna(row["ship_date"])
