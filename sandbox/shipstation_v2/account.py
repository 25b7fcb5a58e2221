"""The V1 account seen through V2 (reference §0, §5.2): V1 orders are V2 shipments, V1 shipments are labels.

One account, two APIs: when the sandbox links a V1 `ShipStationState` (`ShipStationV2State.link_account`),
these views read its orders and labels live, so a label bought through V1 is trackable through V2.
Mapping (§0's terminology map; ids are `se-` + the V1 id, as "`orderId` → `shipment_id` (prefixed
`se-`)" suggests): `shipment_id = se-<orderId>`, `external_shipment_id = orderKey`,
`shipment_number = orderNumber`, `label_id = se-<shipmentId>`, `store_id = se-<storeId>`,
`warehouse_id = se-<warehouseId>`, `carrier_id` from `carriers.py`. Money is `{currency, amount}` in the
account currency (V1 orders carry none; the sandbox merchant's is INR, sent lower-case as ShipEngine does).

Assumptions: `shipment_status` is `cancelled` for cancelled orders, `label_purchased` once the order
has an active label (`shipped`), else `pending`; soft-deleted orders are not listed; a label is
`voided` or `completed`; a label's `modified_at` sort uses its void time, else its creation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sandbox.shipstation_v2 import carriers
from sandbox.shipstation_v2.errors import not_found
from sandbox.shipstation_v2.tracking import TrackingBook, iso

Record = dict[str, Any]
ORDER_SORTS = {"created_at": "createDate", "modified_at": "modifyDate"}
LABEL_SORTS: dict[str, Callable[[Record], Any]] = {
    "created_at": lambda s: (s["createDate"], s["shipmentId"]),
    "modified_at": lambda s: (s.get("voidDate") or s["createDate"], s["shipmentId"]),
}


def se_id(value: Any) -> str | None:
    """`se-<id>` for a V1 numeric id."""
    return None if value is None else f"se-{value}"


def v1_id(value: str) -> int | None:
    """The V1 id inside `se-<id>`, or None when it is not one of ours."""
    head, _, tail = value.partition("-")
    return int(tail) if head == "se" and tail.isdigit() else None


def _money(amount: Any, currency: str) -> Record:
    return {"currency": currency, "amount": Decimal(amount or 0)}


def _day(value: date | None) -> str | None:
    return None if value is None else iso(datetime.combine(value, time(), tzinfo=UTC))


def address(v1: Mapping[str, Any] | None) -> Record:
    """A V1 address as a V2 `shipping_address`."""
    v1 = v1 or {}
    residential = v1.get("residential")
    return {
        "name": v1.get("name"), "phone": v1.get("phone") or "", "email": None, "company_name": v1.get("company"),
        "address_line1": v1.get("street1"), "address_line2": v1.get("street2"), "address_line3": v1.get("street3"),
        "city_locality": v1.get("city"), "state_province": v1.get("state"), "postal_code": v1.get("postalCode"),
        "country_code": v1.get("country"),
        "address_residential_indicator": "unknown" if residential is None else ("yes" if residential else "no"),
    }


def shipment_status(order: Mapping[str, Any]) -> str:
    """V1 `orderStatus` → V2 `shipment_status`."""
    status = order.get("orderStatus")
    return {"cancelled": "cancelled", "shipped": "label_purchased"}.get(status, "pending")


def _item(line: Mapping[str, Any]) -> Record:
    weight = line.get("weight") or {}
    return {
        "name": line.get("name"), "sales_order_id": None, "sales_order_item_id": None,
        "quantity": line.get("quantity", 0), "sku": line.get("sku"), "external_order_id": None,
        "external_order_item_id": line.get("lineItemKey"), "asin": None, "order_source_code": None,
        "image_url": line.get("imageUrl"), "unit_price": line.get("unitPrice"), "tax_amount": line.get("taxAmount"),
        "shipping_amount": line.get("shippingAmount"), "inventory_location": line.get("warehouseLocation"),
        "weight": {"value": weight.get("value", 0), "unit": "ounce"}, "product_id": se_id(line.get("productId")),
        "upc": line.get("upc"), "options": [dict(o) for o in line.get("options") or ()],
    }


def shipment(order: Mapping[str, Any], ship_from: Record, currency: str) -> Record:
    """One V1 order as a V2 shipment."""
    advanced = order.get("advancedOptions") or {}
    weight = order.get("weight") or {}
    return {
        "shipment_id": se_id(order["orderId"]), "carrier_id": carriers.carrier_id_of(order.get("carrierCode")),
        "service_code": order.get("serviceCode"), "requested_shipment_service": order.get("requestedShippingService"),
        "external_order_id": None, "external_shipment_id": order.get("orderKey"),
        "shipment_number": order.get("orderNumber"), "shipment_status": shipment_status(order),
        "created_at": iso(order["createDate"]), "modified_at": iso(order["modifyDate"]),
        "ship_date": _day(order.get("shipDate")), "ship_by_date": iso(order.get("shipByDate")),
        "hold_until_date": iso(order.get("holdUntilDate")), "store_id": se_id(advanced.get("storeId")),
        "warehouse_id": se_id(advanced.get("warehouseId")), "ship_to": address(order.get("shipTo")),
        "ship_from": ship_from, "return_to": ship_from, "is_return": False,
        "confirmation": order.get("confirmation") or "none",
        "items": [_item(line) for line in order.get("items") or ()],
        "amount_paid": _money(order.get("amountPaid"), currency),
        "shipping_paid": _money(order.get("shippingAmount"), currency),
        "tax_paid": _money(order.get("taxAmount"), currency), "notes_from_buyer": order.get("customerNotes"),
        "is_gift": bool(order.get("gift")), "notes_for_gift": order.get("giftMessage"),
        "advanced_options": {"custom_field1": advanced.get("customField1"), "custom_field2": advanced.get(
            "customField2"), "custom_field3": advanced.get("customField3")},
        "insurance_provider": "none", "tags": [], "packages": [], "order_source_code": None,
        "total_weight": {"value": weight.get("value", 0), "unit": "ounce"},
    }


def label(v1: Mapping[str, Any], tracking: TrackingBook, currency: str) -> Record:
    """One V1 shipment (label) as a V2 label."""
    return {
        "label_id": se_id(v1["shipmentId"]), "status": "voided" if v1.get("voided") else "completed",
        "shipment_id": se_id(v1["orderId"]), "external_shipment_id": v1.get("orderKey"),
        "ship_date": _day(v1.get("shipDate")), "created_at": iso(v1["createDate"]),
        "shipment_cost": _money(v1.get("shipmentCost"), currency),
        "insurance_cost": _money(v1.get("insuranceCost"), currency), "tracking_number": v1.get("trackingNumber"),
        "is_return_label": bool(v1.get("isReturnLabel")), "is_international": False, "batch_id": None,
        "carrier_id": carriers.carrier_id_of(v1.get("carrierCode")), "carrier_code": v1.get("carrierCode"),
        "service_code": v1.get("serviceCode"), "package_code": v1.get("packageCode"), "test_label": False,
        "voided": bool(v1.get("voided")), "voided_at": iso(v1.get("voidDate")), "label_format": "pdf",
        "trackable": True, "confirmation": v1.get("confirmation") or "none",
        "tracking_status": tracking.coarse(v1["shipmentId"]),
        "tracking_url": carriers.tracking_url(v1.get("carrierCode"), v1.get("trackingNumber")), "packages": [],
        "ship_to": address(v1.get("shipTo")),
    }


class AccountView:
    """Reads a linked V1 account (or none: every list is empty) and keeps the labels' tracking."""

    def __init__(self, account: Any = None, currency: str = "inr", now: Callable[[], datetime] | None = None) -> None:
        self.account = account
        self.currency = currency
        self.tracking = TrackingBook()
        self.now = now or (lambda: datetime.now(UTC))
        self._views: dict[Any, Any] = {}
        self._stamp: tuple[int, int] | None = None

    def _memo(self, name: Any, build: Callable[[], Any]) -> Any:
        # Views are rebuilt when the V1 account changes (every write bumps `version`; labels counted too).
        stamp = (self.account.version, len(self.account.shipments))
        if stamp != self._stamp:
            self._views, self._stamp = {}, stamp
        if name not in self._views:
            self._views[name] = build()
        return self._views[name]

    def orders(self, sort_by: str = "created_at") -> list[Record]:
        """Active V1 orders (soft-deleted ones are not listed), ascending by `sort_by`, then orderId."""
        if self.account is None:
            return []
        field = ORDER_SORTS[sort_by]
        return self._memo(("orders", field), lambda: sorted(
            (o for o in self.account.orders.values() if self.account.is_active(o["orderId"])),
            key=lambda o: (o[field], o["orderId"])))

    def labels(self, sort_by: str = "created_at") -> list[Record]:
        """Every V1 label, voided ones included, ascending by `sort_by`, then shipmentId."""
        if self.account is None:
            return []
        return self._memo(("labels", sort_by), lambda: sorted(self.account.shipments.records.values(),
                                                                key=LABEL_SORTS[sort_by]))

    def labels_tracked(self, number: str, sort_by: str = "created_at") -> list[Record]:
        """The V1 labels carrying tracking number `number` (an index, as the real API surely has one)."""
        if self.account is None:
            return []
        index: dict[str, list[Record]] = self._memo("by_tracking", self._tracking_index)
        return sorted(index.get(number, ()), key=LABEL_SORTS[sort_by])

    def _tracking_index(self) -> dict[str, list[Record]]:
        index: dict[str, list[Record]] = {}
        for label in self.account.shipments.records.values():
            index.setdefault(label.get("trackingNumber"), []).append(label)
        return index

    def ship_from(self, order: Mapping[str, Any]) -> Record:
        """The order's warehouse origin address."""
        warehouse_id = (order.get("advancedOptions") or {}).get("warehouseId")
        houses = [] if self.account is None else self.account.warehouses
        house = next((w for w in houses if w["warehouseId"] == warehouse_id), houses[0] if houses else {})
        return address(house.get("originAddress"))

    def shipment(self, order: Mapping[str, Any]) -> Record:
        """The V2 shipment of one V1 order."""
        return shipment(order, self.ship_from(order), self.currency)

    def order(self, shipment_id: str) -> Record:
        """The V1 order behind `shipment_id`; 404 if none."""
        number = v1_id(shipment_id)
        found = None if self.account is None or number is None else self.account.orders.get(number)
        if found is None or not self.account.is_active(number):
            raise not_found("shipment_id", shipment_id)
        return found

    def by_external_id(self, external_id: str) -> Record:
        """The active V1 order whose `orderKey` is `external_id`; 404 if none."""
        number = None if self.account is None else self.account.order_id_for_key(external_id)
        if number is None or not self.account.is_active(number):
            raise not_found("external_shipment_id", external_id)
        return self.account.orders[number]

    def v1_label(self, label_id: str) -> Record:
        """The V1 shipment behind `label_id`; 404 if none."""
        number = v1_id(label_id)
        found = None if self.account is None or number is None else self.account.shipments.records.get(number)
        if found is None:
            raise not_found("label_id", label_id)
        return found

    def label(self, label_id: str) -> Record:
        """The V2 label `label_id`."""
        return label(self.v1_label(label_id), self.tracking, self.currency)

    def track(self, label_id: str) -> Record:
        """The label's tracking document."""
        return self.tracking.document(self.v1_label(label_id))

    def label_by_tracking_number(self, number: str) -> Record:
        """The V1 label with `trackingNumber`; 404 if none."""
        found = self.labels_tracked(number)
        if not found:
            raise not_found("tracking_number", number)
        return found[-1]
