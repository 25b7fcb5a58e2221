"""Seller actions on a purchase order: acknowledge, cancel lines, ship lines (reference §7).

Each answers `{"order": {...}}` with the order after the change, as the OpenAPI examples show.
Assumptions where the sources are silent: acknowledging an order whose open lines are all already
acknowledged succeeds unchanged (idempotent); an order with nothing left to acknowledge (every unit
shipped or cancelled) is 400. Cancel and ship move exactly `statusQuantity` units and refuse more
than the line has open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.walmart.orders import (
    CANCEL_REASONS,
    Order,
    ensure,
    move,
    order_lines_of,
    requested_units,
    status_entry,
    status_quantities,
)

Record = dict[str, Any]
# The carriers the reference names (§7); Walmart's enum is longer, others need otherCarrier + trackingURL.
CARRIERS = ("UPS", "USPS", "FedEx", "DHL", "OnTrac", "LSO", "Canada Post")
METHOD_CODES = ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")


def acknowledge(order: Order, at: datetime) -> None:
    """Every Created unit becomes Acknowledged."""
    open_units = sum(status_quantities(line).get(s, 0) for line in order.lines for s in ("Created", "Acknowledged"))
    ensure(open_units > 0, f"order {order.po} has no open lines to acknowledge")
    for line in order.lines:
        created = status_quantities(line).get("Created", 0)
        if created:
            move(line, created, ("Created",), "Acknowledged", at)
    order.modified = at


def cancel(order: Order, body: Any, at: datetime) -> None:
    """Apply an `orderCancellation` body: each line's units move to Cancelled with the reason."""
    for request in order_lines_of(body, "orderCancellation"):
        line = order.line(str(request.get("lineNumber", "")))
        entry = status_entry(request)
        ensure(entry.get("status") == "Cancelled", "status must be Cancelled", "status")
        reason = entry.get("cancellationReason")
        ensure(reason in CANCEL_REASONS, f"cancellationReason must be one of {', '.join(CANCEL_REASONS)}",
               "cancellationReason")
        move(line, requested_units(entry), ("Created", "Acknowledged"), "Cancelled", at, cancellationReason=reason)
    order.modified = at


def ship(order: Order, body: Any, at: datetime) -> None:
    """Apply an `orderShipment` body: units move to Shipped with their tracking info."""
    for request in order_lines_of(body, "orderShipment"):
        line = order.line(str(request.get("lineNumber", "")))
        seller_order = request.get("sellerOrderId")
        ensure(isinstance(seller_order, str) and 0 < len(seller_order) <= 30,
               "sellerOrderId is required (at most 30 characters)", "sellerOrderId")
        entry = status_entry(request)
        ensure(entry.get("status") == "Shipped", "status must be Shipped", "status")
        tracking = _tracking(entry.get("trackingInfo"))
        move(line, requested_units(entry), ("Created", "Acknowledged"), "Shipped", at, trackingInfo=tracking)
        line["sellerOrderId"] = seller_order
    order.modified = at


def _tracking(info: Any) -> Record:
    ensure(isinstance(info, dict), "trackingInfo is required", "trackingInfo")
    for name in ("carrierName", "methodCode", "shipDateTime", "trackingNumber"):
        ensure(info.get(name) not in (None, ""), f"trackingInfo.{name} is required", name)
    carrier = info["carrierName"] if isinstance(info["carrierName"], dict) else {}
    if carrier.get("carrier"):
        ensure(carrier["carrier"] in CARRIERS, f"carrier {carrier['carrier']!r} is not in Walmart's list; "
               "send otherCarrier and trackingURL", "carrier")
    else:
        ensure(bool(carrier.get("otherCarrier")) and bool(info.get("trackingURL")),
               "otherCarrier needs trackingURL", "otherCarrier")
    ensure(info["methodCode"] in METHOD_CODES, f"methodCode must be one of {', '.join(METHOD_CODES)}", "methodCode")
    ensure(isinstance(info["shipDateTime"], int), "shipDateTime must be epoch milliseconds", "shipDateTime")
    return dict(info)
