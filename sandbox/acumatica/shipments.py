"""Shipment logic: numbering, lines naming order lines, and the totals Acumatica recomputes.

An order with an unconfirmed shipment from a warehouse cannot get another one from it
(`SOShipmentEntry.CreateShipment`, Acumatica 2020 R1 source: `Messages.OrderHasOpenShipment`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sandbox.acumatica.orders import weight
from sandbox.acumatica.records import OPEN_SHIPMENT, ZERO, Books, Record, dec, fail, number_lines

OPEN_SHIPMENT_EXISTS = ("New shipment cannot be created for the sales order. The {0} {1} sales order already has "
                        "the {2} open shipment.")


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


def open_shipment(books: Books, order: Record, warehouse: Any, besides: str | None = None) -> str | None:
    """The number of another unconfirmed shipment of this order from this warehouse, if any."""
    for shipment in books.shipments_of(str(order.get("OrderType")), str(order.get("OrderNbr"))):
        if shipment["id"] != besides and shipment.get("Status") in OPEN_SHIPMENT and \
                shipment.get("WarehouseID") == warehouse:
            return str(shipment["ShipmentNbr"])
    return None


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
        other = open_shipment(books, order, shipment.get("WarehouseID"), besides=shipment["id"])
        if other is not None:
            fail(row, "OrderNbr", OPEN_SHIPMENT_EXISTS.format(order["OrderType"], order["OrderNbr"], other))
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
    shipment["Orders"] = [{"id": str(uuid.uuid5(uuid.UUID(shipment["id"]), f"{t}/{n}")), "OrderType": t,
                           "OrderNbr": n, "ShipmentNbr": shipment["ShipmentNbr"], "ShipmentType": "Shipment",
                           "ShippedQty": qty} for (t, n), qty in orders.items()]
    packages = shipment.get("Packages") or []
    number_lines(packages)
    shipment["ShippedQty"] = sum((dec(r.get("ShippedQty")) for r in rows), ZERO)
    shipment["ShippedWeight"] = sum((dec(r.get("ShippedQty")) * weight(r, books) for r in rows), ZERO)
    shipment["PackageCount"] = len(packages)
    shipment["PackageWeight"] = sum((dec(p.get("Weight")) for p in packages), ZERO)
