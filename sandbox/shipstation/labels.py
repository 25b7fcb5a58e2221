"""Pure builders of shipment (label) records from an order (reference §3.1, §8.2).

Shared by the simulator and the merchant generator, so a generated label and one made through the
API are the same kind of record: aware UTC `createDate`/`voidDate`, a `date` `shipDate`, `Decimal`
money, fields without data left out (the serialiser writes them as null). Shipment items are the
order's own line dicts when a whole line ships (shared, never mutated), copies when partial.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from sandbox.shipstation.errors import invalid

Record = dict[str, Any]
CENT = Decimal("0.01")
# The ShipStation user the sandbox acts as when it buys labels (`userId` is a GUID, §8.2).
SANDBOX_USER_ID = "5f1c2d3e-0a1b-4c5d-8e9f-5a4db0c0ffee"
# carrierCode → (default serviceCode, tracking number for a shipmentId).
CARRIERS: dict[str, tuple[str, Any]] = {
    "fedex": ("fedex_express_saver", lambda n: f"77{n % 10**10:010d}"),
    "ups": ("ups_ground", lambda n: f"1Z9SBX{n % 10**10:010d}"),
    "stamps_com": ("usps_priority_mail", lambda n: f"9400111899{n % 10**12:012d}"),
}
DEFAULT_CARRIER = "fedex"
DEFAULT_DIMENSIONS: Record = {"units": "inches", "length": 8, "width": 6, "height": 4}
NO_INSURANCE: Record = {"provider": None, "insureShipment": False, "insuredValue": 0}
NO_COST = Decimal("0.00")
# A tiny, valid one-page PDF: `labelData` is "a base64 encoded PDF value" (§3.1).
LABEL_PDF = base64.b64encode(
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 288 432]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
).decode()
_ADVANCED: dict[int | None, Record] = {}
_PER_UNIT = {"pounds": Decimal(16), "ounces": Decimal(1), "grams": Decimal(1) / Decimal("28.349523125")}


def tracking_number(carrier_code: str, shipment_id: int) -> str:
    """A carrier-shaped tracking number, unique per shipmentId."""
    _, make = CARRIERS.get(carrier_code, CARRIERS[DEFAULT_CARRIER])
    return make(shipment_id)


def label_cost(weight_oz: int | float | Decimal) -> Decimal:
    """What a label costs the merchant: ₹60 plus ₹9 per started pound."""
    whole = weight_oz if isinstance(weight_oz, int) else Decimal(str(weight_oz))
    return _cost_for_pounds(max(1, math.ceil(whole / 16)))


@lru_cache(maxsize=256)
def _cost_for_pounds(pounds: int) -> Decimal:
    return (Decimal(60) + 9 * Decimal(pounds)).quantize(CENT, rounding=ROUND_HALF_UP)


def package_weight(lines: Sequence[Record]) -> Record:
    """Σ line weight × quantity, in ounces (the unit every generated line uses); shared per value."""
    total = sum(((line.get("weight") or {}).get("value", 0) * line.get("quantity", 0) for line in lines), 0)
    return _weight(total)


@lru_cache(maxsize=4096)
def _weight(value: int | Decimal) -> Record:
    return {"value": value, "units": "ounces", "WeightUnits": 1}


def ounces(weight: Record) -> Decimal | int:
    """A `{value, units}` weight in ounces (units `pounds`, `ounces` or `grams`, §2.2)."""
    value, units = weight.get("value") or 0, str(weight.get("units", "ounces")).lower()
    if units == "ounces" and isinstance(value, int):
        return value
    return Decimal(str(value)) * _PER_UNIT.get(units, Decimal(1))


def _advanced(store_id: int | None) -> Record:
    # One shared dict per store: a 100k-order merchant has tens of thousands of labels.
    if store_id not in _ADVANCED:
        _ADVANCED[store_id] = {"billToParty": None, "billToAccount": None, "billToPostalCode": None,
                               "billToCountryCode": None, "storeId": store_id}
    return _ADVANCED[store_id]


def pick_lines(order: Record, requested: Sequence[Any] | None) -> list[Record]:
    """The lines a label carries: every goods line in full (`None`), or `[{lineItemKey, quantity}]`.

    Quantities are not checked against the order: a reprinted label may over-ship (§6.5).
    Discount lines (`adjustment`) never ship; the docs' example label leaves them out (§8.1, §8.2).
    """
    goods = [line for line in order.get("items") or () if not line.get("adjustment")]
    if requested is None:
        if not goods:
            raise invalid("items", f"[sandbox] Order {order['orderId']} has no lines to ship.")
        return goods
    if not isinstance(requested, list) or not requested:
        raise invalid("items", "[sandbox] items must be null or a non-empty list of {lineItemKey, quantity}.")
    by_key = {line.get("lineItemKey"): line for line in goods}
    return [_one_line(order["orderId"], by_key, want, f"items[{n}]") for n, want in enumerate(requested)]


def _one_line(order_id: int, by_key: Mapping[Any, Record], want: Any, field: str) -> Record:
    key = want.get("lineItemKey") if isinstance(want, dict) else None
    if key not in by_key:
        raise invalid(f"{field}.lineItemKey", f"[sandbox] Order {order_id} has no shippable line {key!r}.")
    quantity = want.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise invalid(f"{field}.quantity", "[sandbox] quantity must be a whole number of at least 1.")
    line = by_key[key]
    return line if quantity == line.get("quantity") else {**line, "quantity": quantity}


def build_shipment(
    order: Record, lines: list[Record], *, shipment_id: int, created: datetime, ship_date: date,
    carrier_code: str = DEFAULT_CARRIER, service_code: str | None = None, package_code: str = "package",
    confirmation: str = "none", weight: Record | None = None, dimensions: Record | None = None,
    insurance: Record | None = None, marketplace_notified: bool = False, batch_number: str | None = None,
) -> Record:
    """One label for `lines` of `order`, bought at `created` (aware) to ship on `ship_date`."""
    weight = weight or package_weight(lines)
    advanced = order.get("advancedOptions") or {}
    record = {
        "shipmentId": shipment_id, "orderId": order["orderId"], "userId": SANDBOX_USER_ID,
        "createDate": created, "shipDate": ship_date, "shipmentCost": label_cost(ounces(weight)),
        "insuranceCost": NO_COST, "trackingNumber": tracking_number(carrier_code, shipment_id),
        "isReturnLabel": False, "carrierCode": carrier_code,
        "serviceCode": service_code or CARRIERS.get(carrier_code, CARRIERS[DEFAULT_CARRIER])[0],
        "packageCode": package_code, "confirmation": confirmation, "voided": False,
        "marketplaceNotified": marketplace_notified, "weight": weight, "dimensions": dimensions or DEFAULT_DIMENSIONS,
        "insuranceOptions": insurance or NO_INSURANCE, "advancedOptions": _advanced(advanced.get("storeId")),
        "shipmentItems": lines,
    }
    optional = (("orderKey", order.get("orderKey")), ("customerEmail", order.get("customerEmail")),
                ("orderNumber", order.get("orderNumber")), ("batchNumber", batch_number),
                ("warehouseId", advanced.get("warehouseId")), ("shipTo", order.get("shipTo")))
    record.update((key, value) for key, value in optional if value is not None)
    return record


def voided(label: Record, when: datetime) -> Record:
    """The label after a void: a new record (the old one may be shared with a `Merchant`)."""
    return {**label, "voided": True, "voidDate": when}


def shipped_quantities(labels: Sequence[Record]) -> dict[str, int]:
    """Σ quantity per `lineItemKey` over the active (not voided) `labels`."""
    totals: dict[str, int] = {}
    for label in labels:
        if label.get("voided"):
            continue
        for line in label.get("shipmentItems") or ():
            key = line.get("lineItemKey")
            totals[key] = totals.get(key, 0) + line.get("quantity", 0)
    return totals
