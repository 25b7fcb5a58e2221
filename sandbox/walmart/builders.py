"""Build purchase-order and return documents in Walmart's shapes (used by the generator and control plane).

One order line per unit, as Walmart releases them, so `chargeAmount` is both the unit and the line
amount; a line asked with quantity > 1 carries the line total (assumption: the docs do not say).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.walmart.clock import epoch_ms, iso_z
from sandbox.walmart.orders import Order, quantity
from sandbox.walmart.returns import money

Record = dict[str, Any]
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineSpec:
    """What to put on one order line."""

    sku: str
    name: str
    unit_price: Decimal
    quantity: int = 1
    shipping: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Buyer:
    """Who the order ships to."""

    name: str
    address1: str
    city: str
    state: str
    postal_code: str
    phone: str
    tax_rate: Decimal  # e.g. 0.0725


def _charge(kind: str, name: str, amount: Decimal, tax: Decimal, currency: str, tax_name: str) -> Record:
    charge: Record = {"chargeType": kind, "chargeName": name, "chargeAmount": {"currency": currency, "amount": amount}}
    charge["tax"] = {"taxName": tax_name, "taxAmount": {"currency": currency, "amount": tax}}
    return charge


def order_line(number: int, spec: LineSpec, buyer: Buyer, currency: str, at: datetime, method: str) -> Record:
    """One `orderLines.orderLine[]` entry in status Created."""
    amount = cents(spec.unit_price * spec.quantity)
    charges = [_charge("PRODUCT", "ItemPrice", amount, cents(amount * buyer.tax_rate), currency, "Tax1")]
    if spec.shipping:
        charges.append(_charge("SHIPPING", "Shipping", spec.shipping, cents(spec.shipping * buyer.tax_rate),
                               currency, "Tax2"))
    return {"lineNumber": str(number),
            "item": {"productName": spec.name, "sku": spec.sku,
                     "imageUrl": f"https://i5.walmartimages.com/asr/{spec.sku.lower()}.jpeg",
                     "weight": {"value": "1", "unit": "Pounds"}},
            "charges": {"charge": charges}, "orderLineQuantity": quantity(spec.quantity), "statusDate": epoch_ms(at),
            "orderLineStatuses": {"orderLineStatus": [{"status": "Created",
                                                       "statusQuantity": quantity(spec.quantity)}]},
            "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": method.upper(),
                            "pickUpDateTime": epoch_ms(at + timedelta(days=2))}}


def order_doc(po: str, customer_order: str, at: datetime, buyer: Buyer, lines: list[LineSpec], ship_node: Record,
              currency: str, method: str = "Standard") -> Record:
    """A purchase order as `GET /v3/orders` shows it (`orderType` REGULAR)."""
    return {
        "purchaseOrderId": po, "customerOrderId": customer_order,
        "customerEmailId": f"{hashlib.md5(po.encode()).hexdigest().upper()}@relay.walmart.com",
        "orderType": "REGULAR", "orderDate": epoch_ms(at),
        "shippingInfo": {"phone": buyer.phone, "estimatedDeliveryDate": epoch_ms(at + timedelta(days=6)),
                         "estimatedShipDate": epoch_ms(at + timedelta(days=2)), "methodCode": method,
                         "postalAddress": {"name": buyer.name, "address1": buyer.address1, "city": buyer.city,
                                           "state": buyer.state, "postalCode": buyer.postal_code, "country": "USA",
                                           "addressType": "RESIDENTIAL"}},
        "orderLines": {"orderLine": [order_line(n, spec, buyer, currency, at, method)
                                     for n, spec in enumerate(lines, start=1)]},
        "shipNode": ship_node,
    }


def return_doc(rma: str, order: Order, line_numbers: list[str], reason: str, at: datetime, currency: str) -> Record:
    """A REFUND return of whole order lines, INITIATED, refund REFUND_INITIATED."""
    lines, total = [], Decimal("0.00")
    for n, number in enumerate(line_numbers, start=1):
        line = order.line(number)
        units = int(line["orderLineQuantity"]["amount"])
        product = next(c for c in line["charges"]["charge"] if c["chargeType"] == "PRODUCT")
        unit = cents(Decimal(str(product["chargeAmount"]["amount"])) / units)
        tax = cents(Decimal(str(product["tax"]["taxAmount"]["amount"])) / units)
        total += (unit + tax) * units
        lines.append(_return_line(n, order, line, units, unit, tax, reason, at, currency))
    address = order.doc["shippingInfo"]["postalAddress"]
    first, _, last = address["name"].partition(" ")
    return {"returnOrderId": rma, "customerEmailId": order.doc["customerEmailId"],
            "customerName": {"firstName": first, "lastName": last}, "customerOrderId": order.doc["customerOrderId"],
            "refundMode": "POST_DELIVERY", "returnOrderDate": iso_z(at), "returnType": "REFUND",
            "returnByDate": iso_z(at + timedelta(days=30)), "totalRefundAmount": money(total, currency),
            "returnLineGroups": [{"groupNo": 1, "returnLines": [{"returnOrderLineNumber": n}
                                                               for n in range(1, len(lines) + 1)],
                                  "labels": [], "returnExpectedFlag": True}],
            "returnOrderLines": lines, "returnChannel": {"channelName": "ONLINE"}}


def _return_line(n: int, order: Order, line: Record, units: int, unit: Decimal, tax: Decimal, reason: str,
                 at: datetime, currency: str) -> Record:
    totals = {"lineUnitPrice": unit, "lineProductTaxes": tax * units, "lineTotalTaxes": tax * units,
              "lineSubTotal": unit * units, "lineTotal": (unit + tax) * units}
    return {
        "returnOrderLineNumber": n, "salesOrderLineNumber": int(line["lineNumber"]), "returnReason": reason,
        "purchaseOrderId": order.po, "purchaseOrderLineNumber": int(line["lineNumber"]),
        "sellerOrderId": line.get("sellerOrderId", order.po),
        "item": {"sku": line["item"]["sku"], "productName": line["item"]["productName"], "condition": "New"},
        "charges": [{"chargeCategory": "PRODUCT", "chargeName": "ItemPrice", "chargePerUnit": money(unit, currency),
                     "isDiscount": False, "isBillable": True,
                     "tax": [{"taxName": "Tax1", "excessTax": money(Decimal("0.00"), currency),
                              "taxPerUnit": money(tax, currency)}]}],
        "unitPrice": money(unit, currency),
        "chargeTotals": [{"name": k, "value": money(v, currency)} for k, v in totals.items()],
        "currentDeliveryStatus": "DELIVERED", "currentRefundStatus": "REFUND_INITIATED",
        "currentTrackingStatuses": [{"status": "INITIATED", "statusTime": iso_z(at),
                                     "currentRefundStatus": "REFUND_INITIATED",
                                     "quantity": {"unitOfMeasure": "EACH", "measurementValue": units}}],
        "cancellableQty": units, "quantity": {"unitOfMeasure": "EACH", "measurementValue": units},
        "returnExpectedFlag": True, "refundedQty": 0, "refundChannel": "SELLER_MANUAL_REFUND",
        "status": "INITIATED", "statusTime": iso_z(at), "returnTrackingDetail": [],
    }
