"""Hostile ShipStation labels (and their orders) through parsing and the Delivery Note mapping."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from connectors.common.errors import RecordError
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from pipelines.shipstation_tally.delivery import DeliveryNoteConfig, shipment_to_delivery_note
from pipelines.sides.errors import MappingError
from pipelines.sides.shipstation.reading import modify_date, parse_orders, parse_shipments, shipment_dates
from tests.fuzz.strategies import hostile_orders, hostile_shipments, valid_order, valid_shipment
from tests.fuzz.test_fuzz_orders import SKUS, assert_sendable

CFG = DeliveryNoteConfig()
PARTY = "Asha & Co <Retail>"


def note_or_hold(shipment_raw: dict, order_raw: dict) -> None:
    try:
        shipment, order = Shipment.from_raw(shipment_raw), Order.from_raw(order_raw)
    except RecordError as exc:
        assert exc.field and str(exc.record_id), exc
        return
    try:
        voucher = shipment_to_delivery_note(shipment, order, PARTY, SKUS, CFG)
    except MappingError as exc:
        assert f"shipment {shipment.shipment_id}" in exc.record and exc.field, exc
        return
    assert_sendable(voucher)


def test_a_valid_label_becomes_a_sendable_delivery_note() -> None:
    voucher = shipment_to_delivery_note(Shipment.from_raw(valid_shipment()), Order.from_raw(valid_order()), PARTY,
                                        SKUS, CFG)
    assert_sendable(voucher)


@given(hostile_shipments())
@example({**valid_shipment(), "createDate": "9999-12-31T23:59:59.9999999"})
@example({**valid_shipment(), "shipmentItems": None})
def test_hostile_labels_are_held_or_sent_whole(raw: dict) -> None:
    note_or_hold(raw, valid_order())


@given(hostile_orders())
def test_labels_of_hostile_orders_are_held_or_sent_whole(order_raw: dict) -> None:
    note_or_hold(valid_shipment(), order_raw)


@given(st.lists(st.one_of(hostile_orders(), hostile_shipments()), max_size=4))
def test_reading_helpers_never_raise_on_hostile_records(raws: list[dict]) -> None:
    """The staging step reads every record: a bad one is reported later, never a crash now."""
    for raw in raws:
        modify_date(raw)
        shipment_dates(raw)
    parsed = list(parse_orders(raws))
    assert len(parsed) == len(raws)
    assert all(order is not None or "_parse_error" in raw for order, raw in parsed)
    labels = list(parse_shipments(raws, {1001: valid_order()}))
    assert len(labels) == len(raws)
