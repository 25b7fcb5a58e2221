"""Settlement periods built from what the sandbox's orders and returns did inside the period.

A Sale is every unit shipped (`trackingInfo.shipDateTime`) in the period; a Refund is every return line
refunded (`statusTime` with REFUND_COMPLETED) in the period; Adjustments are given when the period is
published. Commission ([unverified] for this catalogue): Walmart's grocery referral fee, 8% of an item
priced at most 15.00 and 15% above, on the product price only; a refund gives the commission back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.walmart.catalog import Item
from sandbox.walmart.clock import from_epoch_ms
from sandbox.walmart.orders import Order
from sandbox.walmart.recon import CENT, Transaction
from sandbox.walmart.returns import ReturnOrder

Record = dict[str, Any]


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def commission_rate(unit_price: Decimal) -> Decimal:
    """Percent of the product price Walmart keeps."""
    return Decimal(8) if unit_price <= 15 else Decimal(15)


def _charges(line: Record) -> dict[str, Decimal]:
    out = {f"{kind} {part}": Decimal(0) for kind in ("Product", "Shipping") for part in ("Price", "tax")}
    for charge in line["charges"]["charge"]:
        kind = "Product" if charge["chargeType"] == "PRODUCT" else "Shipping"
        out[f"{kind} Price"] += Decimal(str(charge["chargeAmount"]["amount"]))
        if charge.get("tax"):
            out[f"{kind} tax"] += Decimal(str(charge["tax"]["taxAmount"]["amount"]))
    return out


def _context(order: Order, line: Record, item: Item | None, units: int, rate: Decimal) -> Record:
    address = order.doc["shippingInfo"]["postalAddress"]
    return {"co": order.doc["customerOrderId"], "co_line": line["lineNumber"], "po": order.po,
            "po_line": line["lineNumber"], "seller_order": line.get("sellerOrderId", ""), "qty": str(units),
            "sku": line["item"]["sku"], "gtin": item.gtin if item else "", "name": line["item"]["productName"],
            "tax_code": "2038710", "state": address["state"], "city": address["city"], "zip": address["postalCode"],
            "category": "Grocery", "product_type": item.product_type if item else "",
            "rule": "Grocery referral fee", "rate": f"{rate:g}",
            "method": order.doc["shippingInfo"]["methodCode"], "fulfillment": "Seller Fulfilled"}


def sales(orders: Iterable[Order], items: dict[str, Item], start: datetime, end: datetime) -> list[Transaction]:
    """One Sale per shipped status entry inside the period."""
    out = []
    for order in orders:
        for line in order.lines:
            ordered = int(line["orderLineQuantity"]["amount"])
            for n, entry in enumerate(line["orderLineStatuses"]["orderLineStatus"]):
                shipped = entry.get("trackingInfo", {}).get("shipDateTime")
                if entry["status"] not in ("Shipped", "Delivered") or shipped is None:
                    continue
                when = from_epoch_ms(shipped)
                if not start <= when <= end:
                    continue
                units = int(entry["statusQuantity"]["amount"])
                share = {k: cents(v * units / ordered) for k, v in _charges(line).items()}
                rate = commission_rate(share["Product Price"] / units)
                components = [("Product Price", share["Product Price"]), ("Product tax", share["Product tax"]),
                              ("Product tax withheld", -share["Product tax"])]
                if share["Shipping Price"]:
                    components += [("Shipping Price", share["Shipping Price"]), ("Shipping tax", share["Shipping tax"]),
                                   ("Shipping tax withheld", -share["Shipping tax"])]
                components.append(("Commission on Product", -cents(share["Product Price"] * rate / 100)))
                out.append(Transaction(f"{order.po}-{line['lineNumber']}-S{n}", "Sale", when, components,
                                       _context(order, line, items.get(line["item"]["sku"]), units, rate),
                                       "Purchase"))
    return out


def refunds(returns: Iterable[ReturnOrder], orders: dict[str, Order], items: dict[str, Item], start: datetime,
            end: datetime) -> list[Transaction]:
    """One Refund per refunded return line inside the period."""
    out = []
    for ret in returns:
        for line in ret.doc["returnOrderLines"]:
            if line.get("currentRefundStatus") != "REFUND_COMPLETED":
                continue
            when = datetime.fromisoformat(line["statusTime"].replace("Z", "+00:00"))
            order = orders.get(line["purchaseOrderId"])
            if not start <= when <= end or order is None:
                continue
            units = int(line["refundedQty"])
            price = cents(Decimal(str(line["unitPrice"]["currencyAmount"])) * units)
            tax = cents(sum((Decimal(str(t["taxPerUnit"]["currencyAmount"])) for c in line["charges"]
                             for t in c.get("tax", [])), Decimal(0)) * units)
            rate = commission_rate(price / units)
            components = [("Product Price", -price), ("Product tax", -tax), ("Product tax withheld", tax),
                          ("Commission on Product", cents(price * rate / 100))]
            order_line = order.line(str(line["purchaseOrderLineNumber"]))
            context = _context(order, order_line, items.get(line["item"]["sku"]), units, rate)
            context["return_reason"] = line.get("returnReason", "")
            out.append(Transaction(f"{ret.rma}-{line['returnOrderLineNumber']}-R", "Refund", when, components,
                                   context, "Refund", reason=line.get("returnReason", "")))
    return out


def adjustments(entries: Iterable[Record], posted: datetime) -> list[Transaction]:
    """Adjustments given as `{"description", "code", "amount"}`."""
    return [Transaction(f"ADJ-{posted:%Y%m%d}-{n}", "Adjustment", posted,
                        [("Fee/Reimbursement", cents(Decimal(str(e["amount"]))))],
                        {"adjustment_code": e.get("code", "")}, e["description"])
            for n, e in enumerate(entries, start=1)]
