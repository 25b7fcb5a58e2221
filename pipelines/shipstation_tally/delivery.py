"""Pure mapping from ShipStation shipments (labels) to TallyPrime Delivery Notes. No I/O.

One shipment becomes one Delivery Note (reference §3.3): outward stock lines into the configured
godown, each batch allocation carrying the order number (`ORDERNO`) and the note's own tracking
number (`TRACKINGNUMBER`, the key Tally uses to tie a later sales invoice to this note), the voucher
linked to its order through `INVOICEORDERLIST.LIST`, and the carrier's tracking number as the
voucher's reference. Lines are matched to order lines by `orderItemId`, else `lineItemKey`, else SKU
(reference §6.5), so split and partial shipments each move only what they carried. Whether a
shipment would push any order line past its ordered quantity is decided here too, from what the
order's other live shipments already moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order, OrderItem
from connectors.tally.models import OrderRef, Voucher
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.builders import Header, StockLine, delivery_note
from pipelines.sides.tally.markers import marker
from pipelines.sides.tally.skus import SkuResolver


class ShipmentLine(Protocol):
    order_item_id: int | None
    line_item_key: str | None
    sku: str | None
    name: str | None
    quantity: int


class ShipmentLike(Protocol):
    shipment_id: int
    order_id: int | None
    order_number: str | None
    create_date: Any
    tracking_number: str | None
    carrier_code: str | None
    voided: bool
    items: list[Any] | None


@dataclass(frozen=True)
class DeliveryNoteConfig:
    voucher_type: str = "Delivery Note"
    godown: str = "Main Location"
    sales_ledger: str = "Sales"
    timezone: str = "Asia/Kolkata"


@dataclass(frozen=True)
class Excess:
    """One order line this shipment would over-ship."""

    line: str
    sku: str | None
    ordered: int
    already: int
    this: int

    def __str__(self) -> str:
        return (f"line {self.line} ({self.sku}): ordered {self.ordered}, already shipped {self.already}, "
                f"this shipment {self.this}")


def shipment_key(shipment_id: int | str) -> str:
    """Our stable identity for a shipment's Delivery Note."""
    return f"ss-shipment-{shipment_id}"


def note_number(shipment: ShipmentLike) -> str:
    """The Delivery Note's voucher number, also its Tally tracking number (reference §3.3)."""
    return f"SS-{shipment.shipment_id}"


def describe_shipment(shipment: ShipmentLike) -> str:
    return f"shipment {shipment.shipment_id} of order {shipment.order_number} (orderId {shipment.order_id})"


def line_key(item: OrderItem | ShipmentLine) -> str:
    if item.order_item_id is not None:
        return f"item:{item.order_item_id}"
    if item.line_item_key:
        return f"key:{item.line_item_key}"
    return f"sku:{item.sku}"


def _order_lines(order: Order) -> dict[str, OrderItem]:
    lines: dict[str, OrderItem] = {}
    for item in order.items:
        for key in {line_key(item), f"key:{item.line_item_key}", f"sku:{item.sku}"}:
            lines.setdefault(key, item)
    return lines


def shipped_lines(shipment: ShipmentLike, order: Order) -> list[tuple[OrderItem, int]]:
    """(order line, quantity) for every physical line the shipment carried, in shipment order."""
    if shipment.items is None:
        raise MappingError(describe_shipment(shipment), "shipmentItems",
                           "shipment was read without its items (includeShipmentItems=false)")
    lines, out = _order_lines(order), []
    for index, item in enumerate(shipment.items):
        line = next((lines[k] for k in (line_key(item), f"key:{item.line_item_key}", f"sku:{item.sku}")
                     if k in lines), None)
        if line is None:
            raise MappingError(describe_shipment(shipment), f"shipmentItems[{index}]",
                               f"line {item.sku or item.name!r} is not on order {order.order_number}")
        if item.quantity < 0:
            raise MappingError(describe_shipment(shipment), f"shipmentItems[{index}].quantity",
                               f"negative quantity {item.quantity}")
        if line.adjustment or item.quantity == 0:
            continue  # discount lines are not goods; a zero line moves nothing (reference §6.12)
        out.append((line, item.quantity))
    return out


def quantities(lines: list[tuple[OrderItem, int]]) -> dict[str, int]:
    """Quantity per order line key."""
    totals: dict[str, int] = {}
    for line, quantity in lines:
        totals[line_key(line)] = totals.get(line_key(line), 0) + quantity
    return totals


def over_shipment(order: Order, already: Mapping[str, int], this: Mapping[str, int]) -> list[Excess]:
    """Lines where what the order's other live shipments moved plus this one exceeds what was ordered."""
    ordered: dict[str, OrderItem] = {line_key(item): item for item in order.items}
    excess = []
    for key, quantity in this.items():
        line = ordered.get(key)
        if line is None:
            continue
        if already.get(key, 0) + quantity > line.quantity:
            excess.append(Excess(key, line.sku, line.quantity, already.get(key, 0), quantity))
    return excess


def shipment_to_delivery_note(shipment: ShipmentLike, order: Order, party_ledger: str, skus: SkuResolver,
                              cfg: DeliveryNoteConfig) -> Voucher:
    """One Delivery Note (action Create) for one shipment, linked to its order voucher."""
    number = note_number(shipment)
    lines = [_line(shipment, order, line, quantity, index, skus, cfg, number)
             for index, (line, quantity) in enumerate(shipped_lines(shipment, order))]
    if not lines:
        raise MappingError(describe_shipment(shipment), "shipmentItems", "shipment carries no stock lines")
    carrier = " ".join(x for x in (shipment.carrier_code, shipment.tracking_number) if x)
    header = Header(record=describe_shipment(shipment), voucher_type=cfg.voucher_type,
                    date=local_date(shipment.create_date, cfg.timezone), number=number,
                    reference=shipment.tracking_number or None, party=party_ledger,
                    narration=(f"ShipStation shipment {shipment.shipment_id} of order {order.order_number}"
                               f"{', ' + carrier if carrier else ''} {marker(shipment_key(shipment.shipment_id))}"))
    try:
        order_ref = OrderRef(order_no=order.order_number,
                             basic_order_date=local_date(order.order_date or order.create_date, cfg.timezone))
    except ValidationError as exc:  # found by the fuzzer: escaped unnamed before
        raise MappingError(header.record, "orderNumber", exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return delivery_note(header, lines, order_ref)


def _line(shipment: ShipmentLike, order: Order, line: OrderItem, quantity: int, index: int, skus: SkuResolver,
          cfg: DeliveryNoteConfig, number: str) -> StockLine:
    if not line.sku:
        raise MappingError(describe_shipment(shipment), f"shipmentItems[{index}].sku", f"line {line.name!r} has no SKU")
    ref = skus.resolve(line.sku)
    if ref is None:
        raise MappingError(describe_shipment(shipment), f"shipmentItems[{index}].sku",
                           f"SKU {line.sku!r} has no stock item in Tally (name, alias or TALLY_SKU_MAP)")
    return StockLine(item=ref, quantity=Decimal(quantity), rate=line.unit_price, godown=cfg.godown,
                     ledger=cfg.sales_ledger, order_no=order.order_number, tracking_number=number)
