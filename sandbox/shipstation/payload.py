"""Validate a `createorder` body into an order draft (reference §2.2, §2.3).

The real API deserialises into a typed model, so unknown keys are dropped and read-only fields
(`orderId`, `createDate`, `modifyDate`, `orderTotal`, `customerId`, `mergedOrSplit`, …) are
ignored. Money arrives as JSON numbers and is parsed straight to `Decimal` (no float detour).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.shipstation import pacific
from sandbox.shipstation.errors import ApiError, invalid
from sandbox.shipstation.serialize import ADDRESS_KEYS, ADVANCED_DEFAULTS, ZERO

WRITABLE_STATUSES = ("awaiting_payment", "awaiting_shipment", "shipped", "on_hold", "cancelled")
REQUIRED = ("orderNumber", "orderDate", "orderStatus", "billTo", "shipTo")
DATE_FIELDS = ("orderDate", "paymentDate", "shipByDate", "holdUntilDate")
MONEY_FIELDS = ("amountPaid", "taxAmount", "shippingAmount")
PASSTHROUGH = (
    "customerUsername", "customerEmail", "customerNotes", "internalNotes", "gift", "giftMessage",
    "paymentMethod", "requestedShippingService", "carrierCode", "serviceCode", "packageCode",
    "confirmation", "weight", "dimensions", "insuranceOptions", "internationalOptions", "tagIds", "userId",
)
ITEM_PASSTHROUGH = ("lineItemKey", "sku", "imageUrl", "weight", "warehouseLocation", "options",
                    "fulfillmentSku", "upc")
WRITABLE_ADVANCED = tuple(k for k in ADVANCED_DEFAULTS if k not in ("mergedOrSplit", "mergedIds", "parentId"))
MAX_ORDER_NUMBER = 50


def loads(raw: bytes) -> Any:
    """Decode a JSON body with money as `Decimal`; 400 when it is not JSON."""
    try:
        return json.loads(raw or b"null", parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid("apiOrder", f"Unexpected character encountered while parsing value: {exc}") from exc


def money(value: Any, field: str) -> Decimal:
    """A JSON number (or numeric string) as `Decimal`; null → 0. Python floats go via their repr."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise invalid(field, f"Could not convert {value!r} to decimal.")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise invalid(field, f"Could not convert string to decimal: {value}.") from exc


def _quantity(value: Any, field: str) -> int:
    amount = money(value, field)
    if amount != amount.to_integral_value():
        raise invalid(field, f"Input string '{value}' is not a valid integer.")
    return int(amount)


def _text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise invalid(field, f"Error converting value {value!r} to type 'System.String'.")


def _address(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(field, "Error converting value to type 'Address'.")
    address = {key: value[key] for key in ADDRESS_KEYS if value.get(key) is not None}
    if "residential" in address:
        address["residential"] = _boolean(address["residential"], f"{field}.residential")
    return address


def _boolean(value: Any, field: str) -> bool:
    # Json.NET reads "true"/"false" strings (any case) into a bool; pyshipstation sends str(True).
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid(field, f"Could not convert {value!r} to boolean.")


def _date(body: dict[str, Any], field: str, prefix: str) -> Any:
    value = body.get(field)
    if value is None:
        return None
    try:
        if field == "shipDate":
            return pacific.parse_ship_date(str(value))
        return pacific.parse_payload(str(value))
    except ValueError as exc:
        raise invalid(f"{prefix}.{field}", f"Could not convert string to DateTime: {value}.") from exc


def _item(body: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(prefix, "Error converting value to type 'OrderItem'.")
    if not body.get("name"):
        raise invalid(f"{prefix}.name", "The name field is required.")
    line = {key: body[key] for key in ITEM_PASSTHROUGH if body.get(key) is not None}
    line["name"] = _text(body["name"], f"{prefix}.name")
    line["quantity"] = _quantity(body.get("quantity", 0), f"{prefix}.quantity")
    line["unitPrice"] = money(body.get("unitPrice"), f"{prefix}.unitPrice")
    line["adjustment"] = bool(body.get("adjustment", False))
    for key in ("taxAmount", "shippingAmount"):
        if body.get(key) is not None:
            line[key] = money(body[key], f"{prefix}.{key}")
    return line


def _items(value: Any, prefix: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"{prefix}.items", "Cannot deserialize the current JSON object into type 'OrderItem[]'.")
    return [_item(line, f"{prefix}.items[{n}]") for n, line in enumerate(value)]


def _check_required(body: dict[str, Any], prefix: str) -> None:
    for field in REQUIRED:
        if body.get(field) in (None, ""):
            raise invalid(f"{prefix}.{field}", f"The {field} field is required.")
    status = body["orderStatus"]
    if status not in WRITABLE_STATUSES:
        raise invalid(f"{prefix}.orderStatus", f"Requested value '{status}' was not found.")
    if len(str(body["orderNumber"])) > MAX_ORDER_NUMBER:
        raise invalid(f"{prefix}.orderNumber", "orderNumber must be 50 characters or fewer.")


def parse_order(body: Any, prefix: str = "apiOrder") -> dict[str, Any]:
    """Validate one order body into a draft: stored-field names, `Decimal` money, aware UTC dates."""
    if not isinstance(body, dict):
        raise invalid(prefix, "Cannot deserialize the current JSON value into type 'Order'.")
    _check_required(body, prefix)
    draft: dict[str, Any] = {key: body[key] for key in PASSTHROUGH if body.get(key) is not None}
    draft["orderNumber"] = _text(body["orderNumber"], f"{prefix}.orderNumber")
    draft["orderKey"] = _text(body.get("orderKey"), f"{prefix}.orderKey") or None
    draft["orderStatus"] = body["orderStatus"]
    for field in (*DATE_FIELDS, "shipDate"):
        draft[field] = _date(body, field, prefix)
    for field in MONEY_FIELDS:
        draft[field] = money(body.get(field), f"{prefix}.{field}")
    draft["billTo"] = _address(body["billTo"], f"{prefix}.billTo")
    draft["shipTo"] = _address(body["shipTo"], f"{prefix}.shipTo")
    draft["items"] = _items(body.get("items"), prefix)
    advanced = body.get("advancedOptions") or {}
    if not isinstance(advanced, dict):
        raise invalid(f"{prefix}.advancedOptions", "Error converting value to type 'AdvancedOptions'.")
    draft["advancedOptions"] = {k: advanced[k] for k in WRITABLE_ADVANCED if advanced.get(k) is not None}
    return draft


def parse_batch(body: Any) -> list[Any]:
    """The `createorders` body: a JSON array of at most 100 orders (validated row by row later)."""
    if not isinstance(body, list):
        raise invalid("apiOrders", "Cannot deserialize the current JSON object into type 'Order[]'.")
    if len(body) > 100:
        raise ApiError(400, {"Message": "A maximum of 100 orders can be created or updated per request."})
    return body


CONFIRMATIONS = ("none", "delivery", "signature", "adult_signature", "direct_signature")
LABEL_REQUIRED = ("orderId", "carrierCode", "serviceCode", "shipDate")


def _identifier(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(field, f"Error converting value {value!r} to type 'System.Int32'.")
    try:
        return int(value)
    except ValueError:
        raise invalid(field, f"Could not convert string to integer: {value}.") from None


def parse_label_request(body: Any) -> tuple[int, bool, dict[str, Any]]:
    """A `createlabelfororder` body → (orderId, testLabel, `labels.build_shipment` keywords).

    The docs list `confirmation` as required but their own example sends null: null means `none`.
    """
    if not isinstance(body, dict):
        raise invalid("request", "Cannot deserialize the current JSON value into type 'CreateLabelForOrderRequest'.")
    for field in LABEL_REQUIRED:
        if body.get(field) in (None, ""):
            raise invalid(f"request.{field}", f"The {field} field is required.")
    confirmation = body.get("confirmation") or "none"
    if confirmation not in CONFIRMATIONS:
        raise invalid("request.confirmation", f"Requested value '{confirmation}' was not found.")
    options: dict[str, Any] = {
        "carrier_code": _text(body["carrierCode"], "request.carrierCode"),
        "service_code": _text(body["serviceCode"], "request.serviceCode"),
        "package_code": _text(body.get("packageCode"), "request.packageCode") or "package",
        "confirmation": confirmation, "ship_date": _date(body, "shipDate", "request"),
    }
    for field, key in (("weight", "weight"), ("dimensions", "dimensions"), ("insuranceOptions", "insurance")):
        value = body.get(field)
        if value is not None and not isinstance(value, dict):
            raise invalid(f"request.{field}", f"Error converting value to type '{field}'.")
        if value:
            options[key] = value
    return _identifier(body["orderId"], "request.orderId"), bool(body.get("testLabel")), options


def parse_void_request(body: Any) -> int:
    """A `voidlabel` body → shipmentId."""
    if not isinstance(body, dict) or body.get("shipmentId") in (None, ""):
        raise invalid("request.shipmentId", "The shipmentId field is required.")
    return _identifier(body["shipmentId"], "request.shipmentId")
