"""Master alignment, held-record detection, inventory planning and shipment cursors: pure helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipelines.polling import PollCursor, Stream
from pipelines.shipstation_tally.inventory import plan_inventory, whole_units
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.masters import MissingMaster, align, master_exists, missing_master
from pipelines.shipstation_tally.queue_sensors import webhook_requests
from pipelines.shipstation_tally.window import Window, legacy_shipments_cursor, shipment_key, shipment_run
from state.webhook_queue import StoredEvent

SKUS = SkuResolver.build([("TEA-GRN-250", ["8901234000011"], "Nos"), ("Masala Chai 100g", ["TEA-MSL-100"], "Nos")],
                         {"COF-FLT-250": "TEA-GRN-250"})


def test_align_finds_skus_and_customers_missing_from_tally():
    products = [("TEA-GRN-250", "Green", True), ("TEA-MSL-100", "Chai", True), ("COF-FLT-250", "Coffee", True),
                ("TEA-KHW-100", "Kahwa", True), ("OLD-1", "Gone", False), ("", "No SKU", True)]
    customers = [(1, "Ram & Shyam  Traders", "r@x.in"), (2, "Known Person", None), (3, None, "e@x.in"),
                 (4, "Ram & Shyam Traders", None), (5, None, None)]
    found = align(products, customers, SKUS, {"Known Person"})
    assert found.skus_without_item == [("TEA-KHW-100", "Kahwa")]  # alias, map file and inactive are fine
    assert [name for name, _, _ in found.customers_without_ledger] == ["Ram & Shyam Traders", "e@x.in"]


@pytest.mark.parametrize(("error", "expected"), [
    ("order WC-1 (orderId 9): items[0].sku: SKU 'TEA-KHW-100' has no stock item in Tally (name, alias or map)",
     MissingMaster("sku", "TEA-KHW-100")),
    ("""order WC-2 (orderId 8): billTo.name: party ledger "D'Souza & D'Costa" does not exist in Tally""",
     MissingMaster("ledger", "D'Souza & D'Costa")),
    ("Stock Item 'Kahwa 100g' does not exist", MissingMaster("item", "Kahwa 100g")),
    ("Ledger 'Anita Rao' does not exist", MissingMaster("ledger", "Anita Rao")),
    ("Voucher totals do not match! Dr 10 Cr 9", None),
    (None, None),
])
def test_missing_master_reads_ours_and_tallys_errors(error, expected):
    assert missing_master(error) == expected


def test_master_exists_checks_the_right_namespace():
    assert master_exists(MissingMaster("sku", "TEA-MSL-100"), SKUS, set(), set())
    assert not master_exists(MissingMaster("sku", "TEA-KHW-100"), SKUS, set(), set())
    assert master_exists(MissingMaster("ledger", "A"), SKUS, {"A"}, set())
    assert not master_exists(MissingMaster("item", "A"), SKUS, {"A"}, set())


def test_inventory_plan_pushes_only_differences():
    closing = {"TEA-GRN-250": Decimal("12"), "Masala Chai 100g": Decimal("-3")}
    plan = plan_inventory(["TEA-GRN-250", "TEA-MSL-100", "COF-FLT-250", "TEA-KHW-100", "TEA-GRN-250"], SKUS,
                          closing, {"TEA-GRN-250": 12, "TEA-MSL-100": 5})
    assert plan.unchanged == 1 and plan.unmapped == ["TEA-KHW-100"]
    assert [(c.sku, c.current, c.target) for c in plan.changes] == [("TEA-MSL-100", 5, 0), ("COF-FLT-250", None, 12)]
    assert "pushed as 0" in plan.changes[0].note


def test_whole_units():
    assert whole_units(Decimal("4.75")) == (4, "Tally closing stock is 4.75: pushed as 4")
    assert whole_units(None) == (0, "") and whole_units(Decimal("7.000")) == (7, "")


def test_shipment_cursor_v1_becomes_two_confirmed_streams_and_refuses_other_cursors():
    old = '{"v": 1, "kind": "shipments", "create_date": "2026-04-01T00:00:00+00:00", "void_date": null}'
    cursor = PollCursor.load(old, legacy_shipments_cursor)
    assert cursor == PollCursor({"create": Stream(datetime(2026, 4, 1, tzinfo=UTC)), "void": Stream()})
    assert PollCursor.load(cursor.dump(), legacy_shipments_cursor) == cursor
    with pytest.raises(ValueError):
        PollCursor.load('{"v": 1, "modify_date": "2026-01-01T00:00:00+00:00"}', legacy_shipments_cursor)


def test_shipment_run_keys_name_both_windows():
    now = datetime(2026, 4, 2, tzinfo=UTC)
    created = Window(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 1, 12, tzinfo=UTC))
    key, config = shipment_run(created, None, now)
    assert key == "shipstation-shipments:20260401T000000.000000Z-20260401T120000.000000Z:none"
    op = config["ops"]["shipstation__shipments"]["config"]
    assert op["void_date_start"] == op["void_date_end"] == now.isoformat()  # an empty void window
    assert shipment_run(created, None, now)[0] == key != shipment_run(None, created, now)[0]
    assert shipment_key("create")(created.start, created.end) == key
    assert shipment_key("void")(created.start, created.end) == shipment_run(None, created, now)[0]


def test_webhook_events_become_one_run_per_kind_keyed_by_id_range():
    def event(n, kind, url):
        return StoredEvent(n, 0.0, kind, url, "v1", "{}")
    events = [event(1, "ORDER_NOTIFY", "http://h/orders?a=1"), event(2, "SHIP_NOTIFY", "http://h/shipments?b=2"),
              event(3, "ORDER_NOTIFY", "http://h/orders?a=1"), event(4, "FULFILLMENT_SHIPPED", "http://h/x")]
    requests = webhook_requests(events)
    assert [(r.job_name, r.run_key, ids) for r, ids in requests] == [
        ("shipstation_to_tally", "webhooks:shipstation__orders:1-3", [1, 3]),
        ("shipstation_shipments_to_tally", "webhooks:shipstation__shipments:2-2", [2])]
    assert requests[0][0].run_config["ops"]["shipstation__orders"]["config"]["resource_urls"] == [
        "http://h/orders?a=1"]
