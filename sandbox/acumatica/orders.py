"""SalesOrder logic: numbering, line defaults from the stock item, totals, and status from hold and shipments."""

from __future__ import annotations

from decimal import Decimal

from sandbox.acumatica.records import (
    CAPTURED,
    CLOSED_ORDER,
    DONE_SHIPMENT,
    ZERO,
    Books,
    Record,
    dec,
    fail,
    number_lines,
)


def order_insert(order: Record, books: Books) -> None:
    order.setdefault("OrderType", "SO")
    if order.get("OrderNbr") in (None, "", "<NEW>"):
        order["OrderNbr"] = books.number("SalesOrder")
    order.setdefault("Date", books.today())
    order.setdefault("RequestedOn", order["Date"])
    order["Status"] = "On Hold" if order.get("Hold") else "Open"
    order.setdefault("Hold", False)
    customer = books.find("Customer", (str(order.get("CustomerID")),)) if order.get("CustomerID") else None
    order.setdefault("CurrencyID", (customer or {}).get("CurrencyID") or books.base_currency)
    order["BaseCurrencyID"] = books.base_currency


def _order_lines(order: Record, books: Books) -> None:
    rows = order.get("Details") or []
    number_lines(rows)
    for row in rows:
        item = books.find("StockItem", (str(row.get("InventoryID")),)) if row.get("InventoryID") else None
        if item is None:
            fail(row, "InventoryID", f"Inventory ID '{row.get('InventoryID') or ''}' cannot be found in the system.")
            continue
        row.setdefault("UOM", item.get("SalesUOM") or item.get("BaseUOM"))
        row.setdefault("UnitPrice", item.get("DefaultPrice") or ZERO)
        row.setdefault("WarehouseID", item.get("DefaultWarehouseID"))
        row.setdefault("LineDescription", item.get("Description"))
        row.setdefault("OrderQty", Decimal(1))
        row.setdefault("DiscountAmount", ZERO)
        row["ExtendedPrice"] = dec(row["OrderQty"]) * dec(row["UnitPrice"])
        row["Amount"] = row["ExtendedPrice"] - dec(row["DiscountAmount"])


def order_derive(order: Record, books: Books) -> None:
    customer = books.find("Customer", (str(order.get("CustomerID")),)) if order.get("CustomerID") else None
    if customer is None:
        fail(order, "CustomerID", f"Customer '{order.get('CustomerID') or ''}' cannot be found in the system.")
    _order_lines(order, books)
    shipped, on_shipments = _shipment_quantities(order, books)
    rows = order.get("Details") or []
    for row in rows:
        line = row.get("LineNbr")
        row["QtyOnShipments"] = on_shipments.get(line, ZERO)
        row["OpenQty"] = max(dec(row.get("OrderQty")) - shipped.get(line, ZERO), ZERO)
        row["Completed"] = bool(shipped.get(line)) and row["OpenQty"] == 0
    order["OrderedQty"] = sum((dec(r.get("OrderQty")) for r in rows), ZERO)
    totals = order.setdefault("Totals", {"id": books.new_id()})
    line_total = sum((dec(r.get("Amount")) for r in rows), ZERO)
    tax = dec(order.get("TaxTotal"))
    freight = dec(totals.get("Freight"))
    order["OrderTotal"] = line_total + tax + freight
    paid = sum((dec(p.get("AppliedToOrder")) for p in order.get("Payments") or [] if p.get("Status") in CAPTURED), ZERO)
    totals.update({"LineTotalAmount": line_total, "TaxTotal": tax, "Freight": freight,
                   "UnpaidBalance": max(order["OrderTotal"] - paid, ZERO),
                   "OrderWeight": sum((dec(r.get("OrderQty")) * weight(r, books) for r in rows), ZERO)})
    order["Status"] = _order_status(order, shipped, on_shipments)


def weight(row: Record, books: Books) -> Decimal:
    item = books.find("StockItem", (str(row.get("InventoryID")),))
    return dec((item or {}).get("DimensionWeight"))


def _order_status(order: Record, shipped: dict[int, Decimal], on_shipments: dict[int, Decimal]) -> str:
    status = order.get("Status") or "Open"
    if status in CLOSED_ORDER and not (status == "Completed" and order.get("Shipments")):
        return status
    if order.get("Hold"):
        return "On Hold"
    if status == "On Hold":
        status = "Open"
    if any(on_shipments.values()):
        return "Shipping"
    if shipped and all(r.get("OpenQty") == 0 for r in order.get("Details") or []):
        return "Completed"
    if shipped:
        return "Back Order"
    return "Open" if status in ("Shipping", "Completed") else status


def _shipment_quantities(order: Record, books: Books) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per order line: quantity on confirmed shipments, and on shipments still open."""
    shipped: dict[int, Decimal] = {}
    pending: dict[int, Decimal] = {}
    summary = []
    for shipment in books.shipments_of(str(order.get("OrderType")), str(order.get("OrderNbr"))):
        rows = [r for r in shipment.get("Details") or []
                if r.get("OrderType") == order.get("OrderType") and r.get("OrderNbr") == order.get("OrderNbr")]
        if not rows:
            continue
        target = shipped if shipment.get("Status") in DONE_SHIPMENT else pending
        for row in rows:
            line = row.get("OrderLineNbr")
            target[line] = target.get(line, ZERO) + dec(row.get("ShippedQty"))
        summary.append({"id": shipment["id"], "ShipmentNbr": shipment["ShipmentNbr"], "ShipmentType": "Shipment",
                        "Status": shipment.get("Status"), "ShipmentDate": shipment.get("ShipmentDate"),
                        "ShippedQty": sum((dec(r.get("ShippedQty")) for r in rows), ZERO),
                        "ShippedWeight": shipment.get("ShippedWeight"),
                        "LastModifiedDateTime": shipment.get("LastModifiedDateTime")})
    order["Shipments"] = summary
    return shipped, pending
