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

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.acumatica.orders import order_derive, order_insert
from sandbox.acumatica.records import (
    CLOSED_ORDER,
    OPEN_SHIPMENT,
    SHIPPABLE_ORDER,
    Books,
    Record,
    dec,
    fail,
    has_errors,
    merge,
    new_guid,
)
from sandbox.acumatica.shipments import shipment_derive, shipment_insert

__all__ = ["GRAPHS", "SHIPPABLE_ORDER", "Graph", "Record", "dec", "has_errors", "merge", "new_guid"]


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
                        "PX.Objects.SO.SOOrderEntry", "Document", order_insert, order_derive,
                        lambda r: r.get("Status") in CLOSED_ORDER),
    "Shipment": Graph("Shipment", ("ShipmentNbr",), "LastModifiedDateTime", "CreatedDateTime",
                      "PX.Objects.SO.SOShipmentEntry", "Document", shipment_insert, shipment_derive,
                      lambda r: r.get("Status") not in OPEN_SHIPMENT),
    "Customer": Graph("Customer", ("CustomerID",), "LastModifiedDateTime", "CreatedDateTime",
                      "PX.Objects.AR.CustomerMaint", "BAccount", _keyed_insert("CustomerID", "Status"),
                      _customer_derive, lambda r: False),
    "StockItem": Graph("StockItem", ("InventoryID",), "LastModified", None, "PX.Objects.IN.InventoryItemMaint", "Item",
                       _keyed_insert("InventoryID", "ItemStatus"), _nothing, lambda r: False,
                       also_stamped=("LastModifiedDateTime",)),  # 24.200.001 has both
}

