"""Pure mapping of ShipStation labels to Acumatica shipments (inbound). No I/O.

One label is one Acumatica Shipment: its items, matched to the order's lines by `lineItemKey` (the
`LineNbr` we sent), become the shipment's Details, so a partial fulfilment with several labels and
tracking numbers lands on the right lines; the label itself becomes one Package with the tracking
number, weight and our key in `CustomRefNbr1` (a Shipment PUT without keys always creates, §6: the
key is how a lost answer is found again). Ship date is the label's `shipDate` (a Pacific calendar
date, §1.3). The carrier becomes `ShipVia` through ACUMATICA_SHIP_VIA_MAP, else stays the order's.

When the order counts as fulfilled (`FULFIL_ON`): `label` confirms the shipment as soon as it exists;
`carrier_scan` (default) only once V2 tracking shows the carrier holding the parcel (accepted, in
transit, delivered), so support never defends a "shipped" order with no scan (seed 004).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from connectors.shipstation.shipments import Shipment as Label
from pipelines.sides.errors import MappingError

FulfilOn = Literal["label", "carrier_scan"]
# ShipStation weight units -> pounds (the Acumatica weight unit we send in, ACUMATICA_PACKAGE_WEIGHT_UOM).
TO_POUNDS = {"pounds": Decimal(1), "ounces": Decimal(1) / 16, "grams": Decimal(1) / Decimal("453.59237")}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class InboundConfig:
    fulfil_on: FulfilOn = "carrier_scan"
    warehouse_id: str = ""  # empty: the order's (its preferred warehouse, else its first line's)
    box_id: str = ""  # Acumatica box type for packages; empty: not sent
    ship_via: Mapping[str, str] = field(default_factory=dict)  # ShipStation carrierCode -> Acumatica ShipVia
    postage_currency: str = "USD"  # what ShipStation buys postage in
    base_currency: str = "USD"  # the Acumatica books' base currency
    postage_rate: Decimal | None = None  # base-currency units per postage-currency unit; None: flag, do not guess


@dataclass(frozen=True)
class OrderRef:
    order_type: str
    order_nbr: str
    customer_id: str
    warehouse_id: str = ""


def label_key(label_id: int) -> str:
    """Our key of a label in Acumatica (the package's `CustomRefNbr1`)."""
    return f"ss-label-{label_id}"


def describe(label: Label) -> str:
    return f"ShipStation label {label.shipment_id} of order {label.order_number or label.order_id}"


def acumatica_shipment(label: Label, order: OrderRef, cfg: InboundConfig) -> dict[str, Any]:
    """The `PUT Shipment` body creating the label's shipment; `MappingError` names the field."""
    record = describe(label)
    if label.items is None:
        raise MappingError(record, "shipmentItems", "read without items: cannot tell which lines shipped")
    details = []
    for n, item in enumerate(i for i in label.items if not i.adjustment):
        if not (item.line_item_key or "").isdigit():
            raise MappingError(record, f"shipmentItems[{n}].lineItemKey",
                               f"{item.line_item_key!r} is not an Acumatica line number")
        details.append({"OrderType": order.order_type, "OrderNbr": order.order_nbr,
                        "OrderLineNbr": int(item.line_item_key), "ShippedQty": Decimal(item.quantity)})
    if not details:
        raise MappingError(record, "shipmentItems", "the label ships no goods lines")
    if not label.tracking_number:
        raise MappingError(record, "trackingNumber", "the label has no tracking number")
    package = {"TrackingNbr": label.tracking_number, "CustomRefNbr1": label_key(label.shipment_id),
               "Weight": pounds(label), "BoxID": cfg.box_id or None,
               "Description": " ".join(filter(None, ("ShipStation", label.carrier_code, label.service_code)))}
    warehouse = cfg.warehouse_id or order.warehouse_id
    if not warehouse:
        raise MappingError(record, "WarehouseID", "the order names no warehouse: set ACUMATICA_WAREHOUSE_ID")
    return {"Type": "Shipment", "Operation": "Issue", "CustomerID": order.customer_id, "WarehouseID": warehouse,
            "ShipmentDate": label.ship_date, "ShipVia": cfg.ship_via.get(label.carrier_code or ""),
            "Details": details, "Packages": [package]}


def pounds(label: Label) -> Decimal | None:
    weight = label.weight
    if weight is None or weight.value is None:
        return None
    factor = TO_POUNDS.get((weight.units or "").lower())
    return None if factor is None else (Decimal(weight.value) * factor).quantize(Decimal("0.0001"))


def confirm_now(fulfil_on: FulfilOn, carrier_has_parcel: bool | None) -> bool:
    """Whether a posted shipment may be confirmed: at once (`label`) or after the first carrier scan."""
    return fulfil_on == "label" or bool(carrier_has_parcel)


@dataclass(frozen=True)
class Freight:
    """A label's shipping cost in the books' currency, or why it cannot be booked."""

    amount: Decimal | None
    note: str | None = None


def label_cost(label: Label) -> Decimal:
    """What a label cost: postage plus insurance, in the postage currency."""
    return label.shipment_cost + (label.insurance_cost or Decimal(0))


def freight(cost: Decimal, cfg: InboundConfig) -> Freight:
    """A label's cost converted to the base currency at the configured rate, else flagged."""
    if cfg.postage_currency == cfg.base_currency:
        return Freight(cost)
    if cfg.postage_rate is None:
        return Freight(None, f"currency mismatch: postage is {cost} {cfg.postage_currency} but the books are in "
                             f"{cfg.base_currency}, and ACUMATICA_POSTAGE_RATE is not set")
    converted = (cost * cfg.postage_rate).quantize(CENT, ROUND_HALF_UP)
    return Freight(converted, f"converted {cost} {cfg.postage_currency} at {cfg.postage_rate}")
