"""Hostile ShipStation orders through the whole mapping to Tally XML: held with id and field, or sent whole."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given

from connectors.common.errors import RecordError
from connectors.shipstation.models import Order
from connectors.tally import codec
from connectors.tally.models import Voucher
from pipelines.shipstation_tally.mapping import OrderVoucherConfig, customer_ledger_name, order_to_voucher
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.skus import SkuResolver
from tests.fuzz.strategies import hostile_orders, valid_order

SKUS = SkuResolver.build([("Widget Item", ["SKU-1"], "Nos")])
CFG = OrderVoucherConfig()


def map_or_hold(raw: dict) -> Voucher | None:
    """What the order poster does with one record: a voucher, or None when it is held (asserting how)."""
    try:
        order = Order.from_raw(raw)
    except RecordError as exc:
        assert exc.field and exc.reason, exc
        assert str(exc.record_id).startswith("orderId="), exc  # the record is named even when its id is bad
        return None
    try:
        return order_to_voucher(order, customer_ledger_name(order), SKUS, CFG)
    except MappingError as exc:
        assert f"orderId {order.order_id}" in exc.record and exc.field, exc
        return None


def assert_sendable(voucher: Voucher) -> None:
    """A voucher that is sent is whole: it nets to zero and its XML parses back with the same names."""
    total = sum((e.amount for e in voucher.ledger_entries), Decimal(0)) + sum(
        (i.amount for i in voucher.inventory_entries), Decimal(0))
    assert total == 0, f"voucher does not net to zero: {total}"
    xml = codec.build_voucher_import("Demo & Co <Pvt>", [voucher])
    root = codec.parse_xml(codec.decode_response(codec.encode_request(xml), codec.content_type()))
    sent = root.find(".//VOUCHER")
    assert sent is not None
    assert sent.findtext("PARTYLEDGERNAME") == voucher.party_ledger
    assert sent.findtext("NARRATION") == voucher.narration


def test_a_valid_order_maps_and_is_sendable() -> None:
    voucher = map_or_hold(valid_order())
    assert voucher is not None
    assert_sendable(voucher)


@given(hostile_orders())
@example({**valid_order(), "billTo": {"name": "A\x00B\x1fC & <D>"}})
@example({**valid_order(), "billTo": {"name": "x" * 100_000}})
@example({**valid_order(), "items": [{**valid_order()["items"][0], "unitPrice": "1e400"}]})
def test_hostile_orders_are_held_or_sent_whole(raw: dict) -> None:
    voucher = map_or_hold(raw)
    if voucher is not None:
        assert_sendable(voucher)
