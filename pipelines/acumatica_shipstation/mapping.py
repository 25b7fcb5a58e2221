"""Pure mapping of Acumatica sales orders to ShipStation orders (outbound). No I/O.

A sales order goes to the warehouse only when it is fulfilment-ready: its status is one of
`ready_statuses` (ACUMATICA_READY_STATUSES, default Open), it is not on hold, and, under the default
payment rule, its payment is captured (nothing left unpaid). Every line must resolve to a known,
active Acumatica stock item with a weight: a line with zero or no weight holds its whole order back
(`HeldBack`), reported before it reaches the warehouse, because ShipStation cannot choose a rate
without it (seed 004). The ShipStation `orderKey` is the Acumatica order number (type-prefixed for
order types other than SO, `QT:QT0001`: each type numbers on its own), so a re-send updates, never duplicates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from connectors.acumatica.models import Address, Contact, Customer, SalesOrder, StockItem
from connectors.shipstation.timezones import PACIFIC
from pipelines.sides.errors import MappingError

PaymentRule = Literal["captured", "none"]
CANCELLED = frozenset({"Canceled", "Cancelled"})
DEFAULT_ORDER_TYPE = "SO"
# Acumatica weight units (INUnit codes as commonly configured) -> ShipStation `weight.units`, factor.
WEIGHT_UNITS: dict[str, tuple[str, Decimal]] = {
    "LB": ("pounds", Decimal(1)), "LBS": ("pounds", Decimal(1)), "POUND": ("pounds", Decimal(1)),
    "OZ": ("ounces", Decimal(1)), "OUNCE": ("ounces", Decimal(1)),
    "G": ("grams", Decimal(1)), "GR": ("grams", Decimal(1)), "GRAM": ("grams", Decimal(1)),
    "KG": ("grams", Decimal(1000)), "KILOGRAM": ("grams", Decimal(1000)),
}


class HeldBack(MappingError):
    """An order kept out of the warehouse until its data is fixed (e.g. a line without weight)."""


@dataclass(frozen=True)
class OutboundConfig:
    ready_statuses: frozenset[str] = frozenset({"Open"})
    payment_rule: PaymentRule = "captured"
    store_id: int | None = None
    default_weight_uom: str = "LB"  # a stock item's weight with no WeightUOM
    currencies: tuple[str, ...] = field(default=())  # empty: any order currency goes


def describe(order: SalesOrder) -> str:
    return f"Acumatica sales order {order.order_type} {order.order_nbr}"


def order_key(order_type: str, order_nbr: str) -> str:
    """The ShipStation `orderKey` of an Acumatica order."""
    return order_nbr if order_type == DEFAULT_ORDER_TYPE else f"{order_type}:{order_nbr}"


def parse_order_key(key: str | None) -> tuple[str, str] | None:
    """(OrderType, OrderNbr) of an `orderKey` we made; None for a key that is not ours."""
    if not key:
        return None
    kind, sep, nbr = key.partition(":")
    return (kind, nbr) if sep and kind and nbr else (DEFAULT_ORDER_TYPE, key)


def payment_captured(order: SalesOrder) -> bool:
    """Nothing left to pay: `Totals.UnpaidBalance` is zero, else payments applied cover the total."""
    if order.totals.unpaid_balance is not None:
        return order.totals.unpaid_balance <= 0
    applied = sum((p.applied or Decimal(0) for p in order.payments), Decimal(0))
    return bool(order.payments) and applied >= order.order_total


def not_ready(order: SalesOrder, cfg: OutboundConfig) -> str | None:
    """Why an order is not fulfilment-ready yet, or None when it may go to the warehouse."""
    if order.status not in cfg.ready_statuses:
        return f"status {order.status!r} is not fulfilment-ready ({', '.join(sorted(cfg.ready_statuses))})"
    if order.hold:
        return "the order is on hold"
    if cfg.payment_rule == "captured" and not payment_captured(order):
        unpaid = order.totals.unpaid_balance
        return "payment is not captured" + (f" ({unpaid} unpaid)" if unpaid is not None else "")
    return None


def is_cancelled(order: SalesOrder) -> bool:
    return order.status in CANCELLED


def shipstation_order(order: SalesOrder, items: Mapping[str, StockItem], customers: Mapping[str, Customer],
                      cfg: OutboundConfig) -> dict[str, Any]:
    """The `createorder` body for a ready order; `MappingError` (or `HeldBack`) names the field."""
    record = describe(order)
    if cfg.currencies and order.currency_id not in cfg.currencies:
        raise MappingError(record, "CurrencyID", f"{order.currency_id} is not a ShipStation store currency "
                                                 f"({', '.join(cfg.currencies)})")
    if order.date is None:
        raise MappingError(record, "Date", "the order has no date")
    customer = customers.get(order.customer_id or "")
    lines = [_item(record, n, line, items, cfg) for n, line in enumerate(order.lines)]
    if not lines:
        raise MappingError(record, "Details", "the order has no lines")
    unpaid = order.totals.unpaid_balance or Decimal(0)
    body: dict[str, Any] = {
        "orderNumber": order.order_nbr, "orderKey": order_key(order.order_type, order.order_nbr),
        "orderDate": pacific_text(order.date), "orderStatus": "awaiting_shipment",
        "customerUsername": order.customer_id, "customerEmail": order.ship_to_contact.email or (
            customer.email if customer else None),
        "billTo": _address(record, "BillTo", order.bill_to, order.bill_to_contact, customer,
                           fallback=order.ship_to_contact),
        "shipTo": _address(record, "ShipTo", order.ship_to, order.ship_to_contact, customer),
        "items": lines, "amountPaid": max(order.order_total - unpaid, Decimal(0)),
        "taxAmount": order.tax_total or Decimal(0), "shippingAmount": order.totals.freight or Decimal(0),
        "requestedShippingService": order.ship_via, "internalNotes": f"Acumatica {order.order_type} {order.order_nbr}",
        "advancedOptions": {"customField1": order.order_nbr, "customField2": order.currency_id,
                            "source": "acumatica", **({"storeId": cfg.store_id} if cfg.store_id else {})},
    }
    return body


def _item(record: str, n: int, line: Any, items: Mapping[str, StockItem], cfg: OutboundConfig) -> dict[str, Any]:
    where = f"Details[{n}] (line {line.line_nbr})"
    stock = items.get(line.inventory_id or "")
    if stock is None or (stock.status or "Active") not in ("Active", "No Sales"):
        raise MappingError(record, f"{where}.InventoryID",
                           f"{line.inventory_id!r} is not an active stock item in Acumatica")
    if line.quantity != line.quantity.to_integral_value() or line.quantity <= 0:
        raise MappingError(record, f"{where}.OrderQty", f"{line.quantity} is not a whole positive quantity")
    if not stock.weight or stock.weight <= 0:
        raise HeldBack(record, f"{where}.InventoryID",
                       f"stock item {stock.inventory_id} has no weight (DimensionWeight {stock.weight}): "
                       "held back so the warehouse is not left to rate it by hand")
    units, factor = _units(record, where, stock.weight_uom or cfg.default_weight_uom)
    return {"lineItemKey": str(line.line_nbr), "sku": stock.inventory_id,
            "name": line.description or stock.description or stock.inventory_id, "quantity": int(line.quantity),
            "unitPrice": line.unit_price, "weight": {"value": stock.weight * factor, "units": units}}


def _units(record: str, where: str, uom: str) -> tuple[str, Decimal]:
    try:
        return WEIGHT_UNITS[uom.strip().upper()]
    except KeyError:
        raise MappingError(record, f"{where}.WeightUOM", f"weight unit {uom!r} has no ShipStation unit") from None


def _address(record: str, side: str, address: Address, contact: Contact, customer: Customer | None,
             fallback: Contact | None = None) -> dict:
    """A ShipStation address; a bill-to without a name of its own takes the ship-to contact's."""
    names = (contact, fallback or Contact())
    name = next((c.attention or c.business_name for c in names if c.attention or c.business_name), None) or (
        customer.name if customer else None)
    if not name:
        raise MappingError(record, f"{side}Contact.Attention", "no name to ship to (contact or customer)")
    return {"name": name, "company": contact.business_name, "street1": address.line1, "street2": address.line2,
            "city": address.city, "state": address.state, "postalCode": address.postal_code,
            "country": address.country, "phone": contact.phone}


def pacific_text(value: datetime) -> str:
    """An aware instant as ShipStation's own body format: Pacific wall time without offset (§1.3)."""
    return value.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def payload_hash(body: Mapping[str, Any]) -> str:
    """What the ledger compares to tell an edit from a re-read (stable across key order and Decimal form)."""
    text = json.dumps(body, sort_keys=True, default=lambda v: format(v.normalize(), "f")
                      if isinstance(v, Decimal) else str(v))
    return hashlib.sha256(text.encode()).hexdigest()
