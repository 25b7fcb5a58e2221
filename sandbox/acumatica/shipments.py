"""Shipment logic: numbering, lines naming order lines, and the totals Acumatica recomputes."""

from __future__ import annotations

from decimal import Decimal

from sandbox.acumatica.orders import weight
from sandbox.acumatica.records import OPEN_SHIPMENT, ZERO, Books, Record, dec, fail, number_lines


def shipment_insert(shipment: Record, books: Books) -> None:
    if shipment.get("ShipmentNbr") in (None, "", "<NEW>"):
        shipment["ShipmentNbr"] = books.number("Shipment")
    shipment.setdefault("Type", "Shipment")
    shipment.setdefault("Operation", "Issue")
    shipment.setdefault("ShipmentDate", books.today())
    shipment.setdefault("Hold", False)
    shipment["Status"] = "On Hold" if shipment["Hold"] else "Open"
    for field in ("CustomerID", "WarehouseID"):
        if not shipment.get(field):
            fail(shipment, field, f"'{field}' cannot be empty.")


def _shipment_lines(shipment: Record, books: Books) -> None:
    rows = shipment.get("Details") or []
    number_lines(rows)
    for row in rows:
        order = books.find("SalesOrder", (str(row.get("OrderType") or "SO"), str(row.get("OrderNbr"))))
        line = next((r for r in (order or {}).get("Details") or [] if r.get("LineNbr") == row.get("OrderLineNbr")),
                    None)
        if order is None or line is None:
            fail(row, "OrderNbr", f"The order line '{row.get('OrderNbr')}' / {row.get('OrderLineNbr')} "
                                  "cannot be found in the system.")
            continue
        if order.get("CustomerID") != shipment.get("CustomerID"):
            fail(row, "OrderNbr", "[sandbox] The order belongs to another customer.")
        row.setdefault("OrderType", order["OrderType"])
        row.update({"InventoryID": line.get("InventoryID"), "UOM": line.get("UOM"),
                    "OrderedQty": line.get("OrderQty"), "OpenQty": line.get("OpenQty")})
        row.setdefault("WarehouseID", shipment.get("WarehouseID"))
        row.setdefault("ShippedQty", line.get("OpenQty"))


def shipment_derive(shipment: Record, books: Books) -> None:
    if shipment.get("Status") in OPEN_SHIPMENT:
        shipment["Status"] = "On Hold" if shipment.get("Hold") else "Open"
        _shipment_lines(shipment, books)
    rows = shipment.get("Details") or []
    orders: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row.get("OrderType"), row.get("OrderNbr"))
        orders[key] = orders.get(key, ZERO) + dec(row.get("ShippedQty"))  # type: ignore[index]
    shipment["Orders"] = [{"id": books.new_id(), "OrderType": t, "OrderNbr": n, "ShipmentNbr": shipment["ShipmentNbr"],
                           "ShipmentType": "Shipment", "ShippedQty": qty} for (t, n), qty in orders.items()]
    packages = shipment.get("Packages") or []
    number_lines(packages)
    shipment["ShippedQty"] = sum((dec(r.get("ShippedQty")) for r in rows), ZERO)
    shipment["ShippedWeight"] = sum((dec(r.get("ShippedQty")) * weight(r, books) for r in rows), ZERO)
    shipment["PackageCount"] = len(packages)
    shipment["PackageWeight"] = sum((dec(p.get("Weight")) for p in packages), ZERO)
