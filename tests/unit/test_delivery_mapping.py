"""Shipment -> Delivery Note mapping: linkage, partial and split shipments, over-shipment, voids (golden XML)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from connectors.tally.codec import build_voucher_import
from pipelines.posting import PostItem
from pipelines.shipstation_tally.delivery import (
    DeliveryNoteConfig,
    over_shipment,
    quantities,
    shipment_key,
    shipment_to_delivery_note,
    shipped_lines,
)
from pipelines.shipstation_tally.mapping import MappingError, SkuResolver
from pipelines.sides.tally.target import TallyTarget
from tests.unit.test_mapping import REFERENCE_ORDER

GOLDEN = Path(__file__).parent / "golden"
COMPANY = "Sharma & Sons Retail Pvt Ltd"
CFG = DeliveryNoteConfig(godown="WH Pune")
SKUS = SkuResolver.build([("TEA-GRN-250", [], "Nos"), ("Masala Chai 100g", ["TEA-MSL-100"], "pkt")])
TWO_LINES = {**REFERENCE_ORDER, "items": [
    *REFERENCE_ORDER["items"],
    {"orderItemId": 903311203, "lineItemKey": "2", "sku": "TEA-MSL-100", "name": "Masala Chai 100g",
     "quantity": 2, "unitPrice": Decimal("80.00"), "adjustment": False}],
    "orderTotal": Decimal("201.55")}


def order(raw: dict = TWO_LINES) -> Order:
    return Order.from_raw(raw)


def shipment(shipment_id: int, lines: list[tuple[int, str, str, int]], **extra) -> Shipment:
    """A documented-shape shipment (ShipStation reference §8.2) carrying (orderItemId, key, sku, qty) lines."""
    items = [{"orderItemId": oid, "lineItemKey": key, "sku": sku, "name": sku, "quantity": qty,
              "unitPrice": Decimal("12.5")} for oid, key, sku, qty in lines]
    raw = {"shipmentId": shipment_id, "orderId": 512340871, "orderKey": "erp-SO-2024-00917",
           "orderNumber": "WM-108841552", "createDate": "2024-11-04T08:01:58.4470000", "shipDate": "2024-11-04",
           "shipmentCost": Decimal("6.42"), "insuranceCost": 0, "trackingNumber": f"94001112062133456{shipment_id}",
           "carrierCode": "stamps_com", "serviceCode": "usps_ground_advantage", "voided": False, "voidDate": None,
           "shipmentItems": items, **extra}
    return Shipment.from_raw(raw)


def pretty(xml: str) -> str:
    return etree.tostring(etree.fromstring(xml.encode("utf-8")), pretty_print=True, encoding="unicode")


def test_partial_shipment_is_one_note_linked_to_its_order():
    note = shipment_to_delivery_note(shipment(260017734, [(903311201, "1", "TEA-GRN-250", 2)]), order(),
                                     "Anita Rao", SKUS, CFG)
    assert note.voucher_type == "Delivery Note" and note.voucher_number == "SS-260017734"
    assert note.reference == "94001112062133456260017734"  # the carrier's tracking number
    assert [(r.order_no, r.basic_order_date.isoformat()) for r in note.order_refs] == [("WM-108841552", "2024-11-03")]
    [line] = note.inventory_entries
    assert (line.stock_item, line.quantity, line.godown, line.order_no, line.tracking_number) == (
        "TEA-GRN-250", Decimal(2), "WH Pune", "WM-108841552", "SS-260017734")
    assert line.amount == Decimal("25.00") and note.balance() == 0
    assert f"[ext:{shipment_key(260017734)}]" in note.narration
    assert pretty(build_voucher_import(COMPANY, [note])) == (GOLDEN / "delivery_note_partial.xml").read_text("utf-8")


def test_split_shipments_each_move_only_their_own_lines():
    first = shipment(1, [(903311201, "1", "TEA-GRN-250", 3)])
    second = shipment(2, [(None, "2", "TEA-MSL-100", 2)])  # matched by lineItemKey when orderItemId is absent
    notes = [shipment_to_delivery_note(s, order(), "Anita Rao", SKUS, CFG) for s in (first, second)]
    assert [[(e.stock_item, e.quantity, e.unit) for e in n.inventory_entries] for n in notes] == [
        [("TEA-GRN-250", Decimal(3), "Nos")], [("Masala Chai 100g", Decimal(2), "pkt")]]
    assert notes[1].inventory_entries[0].rate == Decimal("80.00")  # the order line's price, not the label's
    assert pretty(build_voucher_import(COMPANY, notes)) == (GOLDEN / "delivery_note_split.xml").read_text("utf-8")


def test_voided_label_cancels_its_note_by_master_id():
    target = TallyTarget(None, "Delivery Note")  # type: ignore[arg-type]  # builds the voucher, sends nothing
    note = shipment_to_delivery_note(shipment(3, [(903311201, "1", "TEA-GRN-250", 3)], voided=True,
                                              voidDate="2024-11-05T09:00:00.0000000"), order(), "Anita Rao", SKUS, CFG)
    item = PostItem("shipment 3", "SS-3", note.date, {}, None, None)  # type: ignore[arg-type]
    cancel = target.identity_voucher(item, 4242, "Cancel")
    assert (cancel.action, cancel.master_id, cancel.voucher_number) == ("Cancel", 4242, "SS-3")
    assert pretty(build_voucher_import(COMPANY, [cancel])) == (GOLDEN / "delivery_note_void.xml").read_text("utf-8")


def test_discount_lines_and_zero_lines_move_no_stock():
    lines = shipped_lines(shipment(4, [(903311201, "1", "TEA-GRN-250", 1), (903311202, "PROMO10", "DISCOUNT", 1),
                                       (903311203, "2", "TEA-MSL-100", 0)]), order())
    assert [(line.sku, qty) for line, qty in lines] == [("TEA-GRN-250", 1)]


def test_over_shipment_is_found_per_line():
    o = order()
    this = quantities(shipped_lines(shipment(5, [(903311201, "1", "TEA-GRN-250", 2)]), o))
    assert over_shipment(o, {"item:903311201": 1}, this) == []
    [excess] = over_shipment(o, {"item:903311201": 2}, this)
    assert (excess.ordered, excess.already, excess.this, excess.sku) == (3, 2, 2, "TEA-GRN-250")
    assert "ordered 3, already shipped 2, this shipment 2" in str(excess)


@pytest.mark.parametrize(("lines", "field"), [
    ([(999, "9", "NOPE", 1)], "shipmentItems[0]"),
    ([(903311201, "1", "TEA-GRN-250", -1)], "shipmentItems[0].quantity"),
])
def test_bad_lines_name_the_shipment_and_field(lines, field):
    with pytest.raises(MappingError) as caught:
        shipment_to_delivery_note(shipment(6, lines), order(), "Anita Rao", SKUS, CFG)
    assert caught.value.field == field and "shipment 6 of order WM-108841552" in str(caught.value)


def test_unknown_sku_and_missing_items_are_refused():
    unknown = SkuResolver.build([])
    with pytest.raises(MappingError, match="has no stock item"):
        shipment_to_delivery_note(shipment(7, [(903311201, "1", "TEA-GRN-250", 1)]), order(), "A", unknown, CFG)
    bare = Shipment.from_raw({**shipment(8, []).raw, "shipmentItems": None})
    with pytest.raises(MappingError, match="without its items"):
        shipped_lines(bare, order())
