"""The seller's items, stock per ship node and prices, with the rules inventory and price updates obey.

The same checks serve the single calls (`PUT /v3/inventory`, `PUT /v3/price`: a refusal is a 4xx) and
the bulk feeds (a refusal is a DATA_ERROR on that item only). Assumed rules, where the references are
silent: a SKU must exist in the catalogue; quantities are whole numbers ≥ 0 in unit EACH; a price is a
JSON number > 0 with at most two decimals, in the marketplace currency (USD on Walmart US), and the
`pricing[]` list holds one BASE (or REDUCED with a BASE comparison) price.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

Record = dict[str, Any]


class ItemProblem(Exception):
    """One item breaks a rule: an ingestion error (feeds) or the detail of a 4xx (single calls)."""

    def __init__(self, code: str, field: str, description: str, *, unknown: str | None = None) -> None:
        super().__init__(description)
        self.code, self.field, self.description, self.unknown = code, field, description, unknown

    def ingestion_error(self, kind: str = "DATA_ERROR") -> Record:
        """The feed's `ingestionErrors.ingestionError[]` entry."""
        return {"type": kind, "code": self.code, "field": self.field, "description": self.description}


@dataclass
class Item:
    """One listed SKU."""

    sku: str
    product_name: str
    price: Decimal
    gtin: str
    wpid: str
    product_type: str
    shelf: str
    published: str = "PUBLISHED"
    lifecycle: str = "ACTIVE"

    def response(self, currency: str) -> Record:
        """The `ItemResponse[]` entry of `GET /v3/items`."""
        return {"mart": "WALMART_US", "sku": self.sku, "wpid": self.wpid, "upc": self.gtin[-12:], "gtin": self.gtin,
                "productName": self.product_name, "shelf": self.shelf, "productType": self.product_type,
                "price": {"currency": currency, "amount": self.price}, "publishedStatus": self.published,
                "lifecycleStatus": self.lifecycle}


def cursor_for(offset: int) -> str:
    """An opaque `nextCursor` for `GET /v3/items` (base64, like the examples)."""
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def offset_of(cursor: str) -> int | None:
    """The offset inside a cursor we issued; `*` is the first page; None when unreadable."""
    if cursor in ("", "*"):
        return 0
    try:
        kind, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
        return int(value) if kind == "offset" else None
    except (ValueError, UnicodeDecodeError):
        return None


def known(sku: Any, items: dict[str, Item]) -> str:
    """The SKU if it is listed; else an ItemProblem."""
    if not isinstance(sku, str) or not sku:
        raise ItemProblem("ERR_EXT_DATA_0100001", "sku", "[sandbox] sku is required")
    if sku not in items:
        raise ItemProblem("ERR_EXT_DATA_0100002", "sku", f"[sandbox] SKU {sku} is not in your catalog", unknown=sku)
    return sku


def checked_quantity(quantity: Any) -> int:
    """`{"unit": "EACH", "amount": n}` → n, or an ItemProblem naming the bad part."""
    if not isinstance(quantity, dict):
        raise ItemProblem("ERR_EXT_DATA_0200001", "quantity", "[sandbox] quantity is required")
    if quantity.get("unit") != "EACH":
        raise ItemProblem("ERR_EXT_DATA_0200002", "quantity.unit", "[sandbox] quantity.unit must be EACH")
    amount = quantity.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal) or amount != int(amount) or amount < 0:
        raise ItemProblem("ERR_EXT_DATA_0200003", "quantity.amount",
                          f"[sandbox] quantity.amount must be a whole number >= 0, got {amount!r}")
    return int(amount)


def checked_price(pricing: Any, currency: str) -> Decimal:
    """The BASE (current) price of a `pricing[]` list, or an ItemProblem."""
    if not isinstance(pricing, list) or not pricing or not isinstance(pricing[0], dict):
        raise ItemProblem("ERR_EXT_DATA_0300001", "pricing", "[sandbox] pricing must be a non-empty list")
    entry = pricing[0]
    kind = entry.get("currentPriceType", "BASE")
    if kind not in ("BASE", "REDUCED"):
        raise ItemProblem("ERR_EXT_DATA_0300002", "currentPriceType",
                          "[sandbox] currentPriceType must be BASE or REDUCED")
    price = entry.get("currentPrice")
    if not isinstance(price, dict) or price.get("currency") != currency:
        raise ItemProblem("ERR_EXT_DATA_0300003", "currentPrice.currency",
                          f"[sandbox] currentPrice.currency must be {currency}")
    amount = price.get("amount")
    try:
        value = Decimal(str(amount)) if not isinstance(amount, bool | str) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ItemProblem("ERR_EXT_DATA_0300004", "currentPrice.amount",
                          f"[sandbox] price {amount!r} is invalid: a number > 0 with at most 2 decimals")
    return value
