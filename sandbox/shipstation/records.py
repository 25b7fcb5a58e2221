"""Pure helpers that build stored records: totals, order lines, implicit customers, defaults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.shipstation.serialize import ZERO

CENT = Decimal("0.01")
OPEN_STATUSES = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold"})
Record = dict[str, Any]

_CREATED = datetime(2024, 1, 15, 18, 0, tzinfo=UTC)
DEFAULT_STORES: tuple[Record, ...] = ({
    "storeId": 310001, "storeName": "Manual Orders", "marketplaceId": 0, "marketplaceName": "ShipStation",
    "accountName": None, "email": None, "integrationUrl": None, "active": True, "companyName": "",
    "phone": "", "publicEmail": "", "website": "", "refreshDate": None, "lastRefreshAttempt": None,
    "createDate": _CREATED, "modifyDate": _CREATED, "autoRefresh": False, "statusMappings": None,
},)
DEFAULT_WAREHOUSES: tuple[Record, ...] = ({
    "warehouseId": 410001, "warehouseName": "Main Location", "createDate": _CREATED, "isDefault": True,
    "originAddress": {"name": "Main Location", "company": "", "street1": "12 Industrial Estate",
                      "street2": "", "street3": "", "city": "Mumbai", "state": "MH", "postalCode": "400072",
                      "country": "IN", "phone": "02240000000", "residential": False},
    "returnAddress": None,
},)


def order_total(items: list[Record], shipping: Decimal, tax: Decimal) -> Decimal:
    """`orderTotal` = Σ quantity × unitPrice (adjustments included) + shipping + tax (reference §2.2)."""
    lines = sum((Decimal(line["quantity"]) * line["unitPrice"] for line in items), ZERO)
    return (lines + shipping + tax).quantize(CENT, rounding=ROUND_HALF_UP)


def build_items(
    drafts: list[Record], previous: list[Record], now: datetime, *,
    next_id: Callable[[], int], product_id: Callable[[str | None], int | None],
) -> list[Record]:
    """Stored lines from drafts; a line whose `lineItemKey` existed keeps its id and createDate."""
    earlier = {line["lineItemKey"]: line for line in previous if line.get("lineItemKey")}
    built = []
    for draft in drafts:
        prior = earlier.get(draft.get("lineItemKey"))
        line = dict(draft)
        line["orderItemId"] = prior["orderItemId"] if prior else next_id()
        line["createDate"] = prior["createDate"] if prior else now
        line["modifyDate"] = now
        line["productId"] = None if line["adjustment"] else product_id(line.get("sku"))
        built.append(line)
    return built


def implicit_customer(
    customer_id: int, draft: Record, store: Record, now: datetime,
) -> Record:
    """The customer profile ShipStation creates when an order arrives with `customerUsername`."""
    ship = draft.get("shipTo") or {}
    return {
        "customerId": customer_id, "customerUserId": customer_id + 50_000_000,
        "customerUsername": draft["customerUsername"], "name": ship.get("name"),
        "company": ship.get("company"), "street1": ship.get("street1"), "street2": ship.get("street2"),
        "city": ship.get("city"), "state": ship.get("state"), "postalCode": ship.get("postalCode"),
        "countryCode": ship.get("country"), "phone": ship.get("phone"), "email": draft.get("customerEmail"),
        "addressVerified": ship.get("addressVerified"), "createDate": now, "modifyDate": now,
        "marketplaceId": store.get("marketplaceId", 0), "marketplace": store.get("marketplaceName"),
    }


def compact(record: Record) -> Record:
    """Drop null fields (the serialiser writes them back) to keep 100k orders small in memory."""
    return {key: value for key, value in record.items() if value is not None}
