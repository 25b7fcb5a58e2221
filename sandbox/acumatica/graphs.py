"""Business logic behind each entity (what Acumatica's graphs do on a PUT), on stored records.

- SalesOrder: `OrderType` defaults to SO, `OrderNbr` is numbered; lines take price, UOM,
  warehouse and description from the stock item; `ExtendedPrice`, `Amount`, `OpenQty`,
  `QtyOnShipments`, `OrderedQty`, `OrderTotal` and `Totals` are recomputed; `Status` follows
  `Hold` and the order's shipments (Open → Shipping → Completed, or Back Order when quantity
  remains). `Totals.UnpaidBalance` counts payments whose status is Open or Closed (captured).
- Shipment: `ShipmentNbr` is numbered; lines name an order line and default to its open quantity;
  `Orders`, `ShippedQty`, `ShippedWeight`, `PackageCount` and `PackageWeight` are recomputed.
- Customer / StockItem: key required; `Status`/`ItemStatus` default to Active.

A document in a closed status (Completed, Canceled, Invoiced; a Confirmed shipment) keeps its
values: a PUT answers 200 with the record unchanged, as the reference warns ("a 200 does not prove
a field was saved"). Validation failures are collected on the record (`_errors` per field,
`_error` for the entity) and answered 422.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

Record = dict[str, Any]
ZERO = Decimal(0)
CLOSED_ORDER = ("Completed", "Canceled", "Invoiced", "Expired", "Rejected")
SHIPPABLE_ORDER = ("Open", "Back Order", "Shipping")
CAPTURED = ("Open", "Closed")
OPEN_SHIPMENT = ("Open", "On Hold")
DONE_SHIPMENT = ("Confirmed", "Completed", "Invoiced", "Partially Invoiced")


class Books(Protocol):
    """What a graph may look up in the tenant."""

    base_currency: str

    def now(self) -> datetime: ...
    def today(self) -> datetime: ...
    def find(self, entity: str, keys: tuple[str, ...]) -> Record | None: ...
    def all(self, entity: str) -> Iterable[Record]: ...
    def shipments_of(self, order_type: str, order_nbr: str) -> list[Record]: ...
    def number(self, entity: str) -> str: ...
    def new_id(self) -> str: ...


@dataclass(frozen=True)
class Graph:
    entity: str
    keys: tuple[str, ...]
    stamp: str
    created: str | None
    graph: str
    view: str
    insert: Callable[[Record, Books], None]
    derive: Callable[[Record, Books], None]
    closed: Callable[[Record], bool]
    also_stamped: tuple[str, ...] = ()

    def key_of(self, record: Record) -> tuple[str, ...] | None:
        values = tuple(record.get(k) for k in self.keys)
        return None if any(v in (None, "", "<NEW>") for v in values) else tuple(str(v) for v in values)


def fail(record: Record, field: str, message: str) -> None:
    record.setdefault("_errors", {})[field] = message


def dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def merge(current: Record, incoming: Record, new_id: Callable[[], str]) -> Record:
    """`incoming` written over `current`: values replace, linked entities merge, detail rows merge by
    `id`, rows marked `delete` go, rows without a known `id` are added."""
    out = dict(current)
    for name, value in incoming.items():
        if name in ("id", "delete"):
            continue
        if isinstance(value, dict):
            out[name] = merge(current.get(name) or {"id": new_id()}, value, new_id)
        elif isinstance(value, list):
            out[name] = _merge_rows(current.get(name) or [], value, new_id)
        else:
            out[name] = value
    return out


def _merge_rows(rows: list[Record], incoming: list[Record], new_id: Callable[[], str]) -> list[Record]:
    by_id = {row["id"]: n for n, row in enumerate(rows)}
    out: list[Record | None] = list(rows)
    for row in incoming:
        at = by_id.get(row.get("id", ""))
        if at is None:
            if not row.get("delete"):
                out.append(merge({"id": new_id()}, row, new_id))
        elif row.get("delete"):
            out[at] = None
        else:
            out[at] = merge(rows[at], row, new_id)
    return [row for row in out if row is not None]


def _number_lines(rows: list[Record]) -> None:
    top = max((r.get("LineNbr") or 0 for r in rows), default=0)
    for row in rows:
        if row.get("LineNbr") is None:
            top += 1
            row["LineNbr"] = top


# -- SalesOrder -----------------------------------------------------------------------------------

def _order_insert(order: Record, books: Books) -> None:
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
    _number_lines(rows)
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


def _order_derive(order: Record, books: Books) -> None:
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
                   "OrderWeight": sum((dec(r.get("OrderQty")) * _weight(r, books) for r in rows), ZERO)})
    order["Status"] = _order_status(order, shipped, on_shipments)


def _weight(row: Record, books: Books) -> Decimal:
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


# -- Shipment -------------------------------------------------------------------------------------

def _shipment_insert(shipment: Record, books: Books) -> None:
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
    _number_lines(rows)
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


def _shipment_derive(shipment: Record, books: Books) -> None:
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
    _number_lines(packages)
    shipment["ShippedQty"] = sum((dec(r.get("ShippedQty")) for r in rows), ZERO)
    shipment["ShippedWeight"] = sum((dec(r.get("ShippedQty")) * _weight(r, books) for r in rows), ZERO)
    shipment["PackageCount"] = len(packages)
    shipment["PackageWeight"] = sum((dec(p.get("Weight")) for p in packages), ZERO)


# -- Customer / StockItem -------------------------------------------------------------------------

def _keyed_insert(field: str, status_field: str) -> Callable[[Record, Books], None]:
    def insert(record: Record, books: Books) -> None:
        if not record.get(field):
            fail(record, field, f"'{field}' cannot be empty.")
        record.setdefault(status_field, "Active")

    return insert


def _customer_derive(customer: Record, books: Books) -> None:
    customer.setdefault("CurrencyID", books.base_currency)


def _nothing(record: Record, books: Books) -> None:
    return None


GRAPHS = {
    "SalesOrder": Graph("SalesOrder", ("OrderType", "OrderNbr"), "LastModified", "CreatedDate",
                        "PX.Objects.SO.SOOrderEntry", "Document", _order_insert, _order_derive,
                        lambda r: r.get("Status") in CLOSED_ORDER),
    "Shipment": Graph("Shipment", ("ShipmentNbr",), "LastModifiedDateTime", "CreatedDateTime",
                      "PX.Objects.SO.SOShipmentEntry", "Document", _shipment_insert, _shipment_derive,
                      lambda r: r.get("Status") not in OPEN_SHIPMENT),
    "Customer": Graph("Customer", ("CustomerID",), "LastModifiedDateTime", "CreatedDateTime",
                      "PX.Objects.AR.CustomerMaint", "BAccount", _keyed_insert("CustomerID", "Status"),
                      _customer_derive, lambda r: False),
    "StockItem": Graph("StockItem", ("InventoryID",), "LastModified", None, "PX.Objects.IN.InventoryItemMaint", "Item",
                       _keyed_insert("InventoryID", "ItemStatus"), _nothing, lambda r: False,
                       also_stamped=("LastModifiedDateTime",)),  # 24.200.001 has both
}


def has_errors(record: Any) -> bool:
    """Whether validation left an error anywhere in the record."""
    if isinstance(record, dict):
        return bool(record.get("_errors") or record.get("_error")) or any(has_errors(v) for v in record.values())
    if isinstance(record, list):
        return any(has_errors(v) for v in record)
    return False


def new_guid(rng: Any) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
