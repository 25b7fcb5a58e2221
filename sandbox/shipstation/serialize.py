"""Stored records → ShipStation V1 JSON (reference §2.2, §3.1, §3.3–3.5, §8.1, §8.2).

Stored records hold only the fields that carry data; every other field of the model is written
with its null/default value, so responses always have the full documented key set.
Money is `Decimal` inside and a JSON number outside (`12.5`, `80`, `194.43`), as in the docs.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sandbox.shipstation.pacific import date_only, millis3, ticks7

ZERO = Decimal("0")

ADDRESS_KEYS = ("name", "company", "street1", "street2", "street3", "city", "state", "postalCode",
                "country", "phone", "residential", "addressVerified")

ORDER_KEYS = (
    "orderId", "orderNumber", "orderKey", "orderDate", "createDate", "modifyDate", "paymentDate",
    "shipByDate", "orderStatus", "customerId", "customerUsername", "customerEmail", "billTo", "shipTo",
    "items", "orderTotal", "amountPaid", "taxAmount", "shippingAmount", "customerNotes",
    "internalNotes", "gift", "giftMessage", "paymentMethod", "requestedShippingService", "carrierCode",
    "serviceCode", "packageCode", "confirmation", "shipDate", "holdUntilDate", "weight", "dimensions",
    "insuranceOptions", "internationalOptions", "advancedOptions", "tagIds", "userId",
    "externallyFulfilled", "externallyFulfilledBy", "externallyFulfilledById",
    "externallyFulfilledByName", "labelMessages",
)
ORDER_DATES = ("orderDate", "createDate", "modifyDate", "paymentDate", "shipByDate", "holdUntilDate")
ORDER_DEFAULTS: dict[str, Any] = {
    "gift": False, "confirmation": "none", "externallyFulfilled": False,
    "insuranceOptions": {"provider": None, "insureShipment": False, "insuredValue": 0},
    "internationalOptions": {"contents": None, "customsItems": None, "nonDelivery": None},
}
ADVANCED_DEFAULTS: dict[str, Any] = {
    "warehouseId": None, "nonMachinable": False, "saturdayDelivery": False, "containsAlcohol": False,
    "mergedOrSplit": False, "mergedIds": [], "parentId": None, "storeId": None, "customField1": None,
    "customField2": None, "customField3": None, "source": None, "billToParty": None,
    "billToAccount": None, "billToPostalCode": None, "billToCountryCode": None,
    "billToMyOtherAccount": None,
}
_ORDER_TEMPLATE = {key: ORDER_DEFAULTS.get(key) for key in ORDER_KEYS}
ITEM_KEYS = ("orderItemId", "lineItemKey", "sku", "name", "imageUrl", "weight", "quantity", "unitPrice",
             "taxAmount", "shippingAmount", "warehouseLocation", "options", "productId", "fulfillmentSku",
             "adjustment", "upc", "createDate", "modifyDate")
_ITEM_TEMPLATE: dict[str, Any] = dict.fromkeys(ITEM_KEYS)
ZERO_WEIGHT = {"value": 0, "units": "ounces", "WeightUnits": 1}

PRODUCT_KEYS = (
    "aliases", "productId", "sku", "name", "price", "defaultCost", "length", "width", "height",
    "weightOz", "internalNotes", "fulfillmentSku", "createDate", "modifyDate", "active",
    "productCategory", "productType", "warehouseLocation", "defaultCarrierCode", "defaultServiceCode",
    "defaultPackageCode", "defaultIntlCarrierCode", "defaultIntlServiceCode", "defaultIntlPackageCode",
    "defaultConfirmation", "defaultIntlConfirmation", "customsDescription", "customsValue",
    "customsTariffNo", "customsCountryCode", "noCustoms", "tags",
)
SHIPMENT_KEYS = (
    "shipmentId", "orderId", "orderKey", "userId", "customerEmail", "orderNumber", "createDate", "shipDate",
    "shipmentCost", "insuranceCost", "trackingNumber", "isReturnLabel", "batchNumber", "carrierCode",
    "serviceCode", "packageCode", "confirmation", "warehouseId", "voided", "voidDate", "marketplaceNotified",
    "notifyErrorMessage", "shipTo", "weight", "dimensions", "insuranceOptions", "advancedOptions",
    "shipmentItems", "labelData", "formData",
)
_SHIPMENT_TEMPLATE: dict[str, Any] = dict.fromkeys(SHIPMENT_KEYS) | {
    "insuranceCost": ZERO, "isReturnLabel": False, "voided": False, "marketplaceNotified": False,
}
CUSTOMER_KEYS = ("customerId", "createDate", "modifyDate", "name", "company", "street1", "street2",
                 "city", "state", "postalCode", "countryCode", "phone", "email", "addressVerified")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        normal = value.normalize()
        if normal == normal.to_integral_value():
            return int(normal)
        # Exact for ≤15 significant digits: float repr is the shortest round-tripping string.
        return float(normal)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: object) -> bytes:
    """Encode to compact UTF-8 JSON; `Decimal` becomes a plain number (`12.50` → `12.5`)."""
    return json.dumps(payload, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode()


def address(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """Address with every documented key."""
    if stored is None:
        return None
    return {key: stored.get(key) for key in ADDRESS_KEYS}


def item(stored: dict[str, Any]) -> dict[str, Any]:
    """One OrderItem, dates with 3 fractional digits."""
    out = dict(_ITEM_TEMPLATE)
    out.update(stored)
    out["weight"] = out["weight"] or ZERO_WEIGHT
    out["options"] = out["options"] or []
    out["adjustment"] = bool(out["adjustment"])
    out["createDate"] = millis3(stored.get("createDate"))
    out["modifyDate"] = millis3(stored.get("modifyDate"))
    return out


def _order_weight(items: list[dict[str, Any]]) -> dict[str, Any]:
    ounces = sum(((i.get("weight") or ZERO_WEIGHT)["value"] * i.get("quantity", 0) for i in items), 0)
    return {"value": ounces, "units": "ounces", "WeightUnits": 1}


def order(stored: dict[str, Any]) -> dict[str, Any]:
    """One Order with the full documented key set (stored records hold model fields only)."""
    out = dict(_ORDER_TEMPLATE)
    out.update(stored)
    for key in ORDER_DATES:
        out[key] = ticks7(out[key])
    out["shipDate"] = date_only(out["shipDate"])
    items = stored.get("items") or []
    out["items"] = [item(line) for line in items]
    bill = out["billTo"]
    out["billTo"] = address(bill)
    out["shipTo"] = out["billTo"] if out["shipTo"] is bill else address(out["shipTo"])
    out["weight"] = out["weight"] or _order_weight(items)
    out["advancedOptions"] = {**ADVANCED_DEFAULTS, **(out["advancedOptions"] or {})}
    return out


def shipment(stored: dict[str, Any], *, items: bool, label_data: str | None = None) -> dict[str, Any]:
    """One Shipment (§8.2); `shipmentItems` is null unless `items`, `labelData` only on create."""
    out = dict(_SHIPMENT_TEMPLATE)
    out.update(stored)
    out["createDate"] = ticks7(out["createDate"])
    out["voidDate"] = ticks7(out["voidDate"])
    out["shipDate"] = date_only(out["shipDate"])
    out["shipTo"] = address(out["shipTo"])
    out["shipmentItems"] = [item(line) for line in stored.get("shipmentItems") or ()] if items else None
    out["labelData"] = label_data
    return out


def product(stored: dict[str, Any]) -> dict[str, Any]:
    """One Product; its dates carry 3 fractional digits as in the docs' examples."""
    out = {key: stored.get(key) for key in PRODUCT_KEYS}
    out["createDate"] = millis3(out["createDate"])
    out["modifyDate"] = millis3(out["modifyDate"])
    out["active"] = bool(stored.get("active", True))
    return out


def customer(stored: dict[str, Any]) -> dict[str, Any]:
    """One Customer; the source-system username lives in `marketplaceUsernames[]`."""
    out = {key: stored.get(key) for key in CUSTOMER_KEYS}
    out["createDate"] = ticks7(out["createDate"])
    out["modifyDate"] = ticks7(out["modifyDate"])
    username = stored.get("customerUsername")
    out["marketplaceUsernames"] = [] if username is None else [{
        "customerUserId": stored.get("customerUserId"), "customerId": stored["customerId"],
        "createDate": out["createDate"], "modifyDate": out["modifyDate"],
        "marketplaceId": stored.get("marketplaceId", 0), "marketplace": stored.get("marketplace", "ShipStation"),
        "username": username,
    }]
    out["tags"] = stored.get("tags") or []
    return out


def store(stored: dict[str, Any]) -> dict[str, Any]:
    """One Store (bare-array element of `GET /stores`)."""
    out = dict(stored)
    for key in ("createDate", "modifyDate", "refreshDate", "lastRefreshAttempt"):
        out[key] = millis3(stored.get(key))
    return out


def warehouse(stored: dict[str, Any]) -> dict[str, Any]:
    """One Ship From Location (bare-array element of `GET /warehouses`)."""
    out = dict(stored)
    out["createDate"] = ticks7(stored.get("createDate"))
    out["originAddress"] = address(stored.get("originAddress"))
    out["returnAddress"] = address(stored.get("returnAddress") or stored.get("originAddress"))
    return out


def page(resource: str, rows: list[dict[str, Any]], total: int, number: int, size: int) -> dict[str, Any]:
    """The V1 list envelope `{<resource>: [...], total, page, pages}`."""
    pages = -(-total // size) if size else 0
    return {resource: rows, "total": total, "page": number, "pages": pages}
