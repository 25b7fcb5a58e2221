"""List-endpoint query strings → filters, sort and paging (reference §1.4, §2.1, §3.3, §3.4).

Assumptions where the docs are silent (also listed in the package docstring):
- Empty parameters (`orderStatus=`) mean "no filter", as the docs say for `orderStatus`.
- Enum values (`orderStatus`, `sortBy`, `sortDir`) match case-insensitively, as .NET enum binding
  does; an unknown value, a non-integer number or a malformed date is 400.
- `pageSize` above 500 is clamped to 500 (the envelope's `pages` follows the clamped size);
  `page` or `pageSize` below 1 is 400.
- Start/End date filters are inclusive; a date-only value means 00:00:00 Pacific.
- `customerName` and `itemKeyword` are case-insensitive "contains"; `orderNumber` and the
  products' `sku` are case-sensitive "starts with"; products' `name` is case-insensitive "contains".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.shipstation import pacific
from sandbox.shipstation.errors import invalid

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
ORDER_STATUSES = ("awaiting_payment", "awaiting_shipment", "pending_fulfillment", "shipped", "on_hold",
                  "cancelled", "rejected_fulfillment")
ORDER_SORTS = {"orderdate": "orderDate", "modifydate": "modifyDate", "createdate": "createDate"}
ORDER_RANGES = ("orderDate", "createDate", "modifyDate", "paymentDate")
PRODUCT_SORTS = {"sku": "sku", "modifydate": "modifyDate", "createdate": "createDate"}
CUSTOMER_SORTS = {"name": "name", "modifydate": "modifyDate", "createdate": "createDate"}

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class Listing:
    """What a list request asked for: filters (as predicates), sort field, direction, page."""

    predicates: tuple[Predicate, ...] = ()
    sort_by: str | None = None
    descending: bool = False
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    key: tuple[Any, ...] = field(default=(), compare=False)

    def matches(self, record: Record) -> bool:
        """True when every filter accepts `record`."""
        return all(check(record) for check in self.predicates)

    def window(self, rows: list[Record]) -> list[Record]:
        """The requested page of already filtered and sorted rows (empty past the end)."""
        start = (self.page - 1) * self.page_size
        return rows[start:start + self.page_size]


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def _integer(params: Mapping[str, str], name: str) -> int | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise invalid(name, f"The value '{value}' is not valid for {name}.") from exc


def _when(params: Mapping[str, str], name: str) -> datetime | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        return pacific.parse_filter(value)
    except ValueError as exc:
        raise invalid(name, f"The value '{value}' is not valid for {name}.") from exc


def _choice(params: Mapping[str, str], name: str, allowed: Mapping[str, str]) -> str | None:
    value = _text(params, name)
    if value is None:
        return None
    if value.lower() not in allowed:
        raise invalid(name, f"The value '{value}' is not valid for {name}.")
    return allowed[value.lower()]


def _paging(params: Mapping[str, str], sorts: Mapping[str, str]) -> dict[str, Any]:
    page, size = _integer(params, "page"), _integer(params, "pageSize")
    page = 1 if page is None else page
    size = DEFAULT_PAGE_SIZE if size is None else size
    if page < 1:
        raise invalid("page", "page must be 1 or greater.")
    if size < 1:
        raise invalid("pageSize", "pageSize must be 1 or greater.")
    descending = _choice(params, "sortDir", {"asc": "ASC", "desc": "DESC"}) == "DESC"
    return {"sort_by": _choice(params, "sortBy", sorts), "descending": descending, "page": page,
            "page_size": min(size, MAX_PAGE_SIZE)}


def _between(name: str, low: datetime | None, high: datetime | None) -> Predicate | None:
    if low is None and high is None:
        return None

    def check(record: Record) -> bool:
        value = record.get(name)
        return value is not None and (low is None or value >= low) and (high is None or value <= high)

    return check


def _contains_any(needle: str, texts: Callable[[Record], list[Any]]) -> Predicate:
    folded = needle.casefold()
    return lambda record: any(folded in str(text).casefold() for text in texts(record) if text)


def _item_texts(order: Record) -> list[Any]:
    texts: list[Any] = []
    for line in order.get("items") or ():
        texts += [line.get("sku"), line.get("name")]
        texts += [opt.get("value") for opt in line.get("options") or ()]
    return texts


def _party_names(order: Record) -> list[Any]:
    return [(order.get("billTo") or {}).get("name"), (order.get("shipTo") or {}).get("name")]


def _order_filters(params: Mapping[str, str]) -> list[tuple[str, Any, Predicate]]:
    found: list[tuple[str, Any, Predicate]] = []
    if (name := _text(params, "customerName")) is not None:
        found.append(("customerName", name, _contains_any(name, _party_names)))
    if (keyword := _text(params, "itemKeyword")) is not None:
        found.append(("itemKeyword", keyword, _contains_any(keyword, _item_texts)))
    if (number := _text(params, "orderNumber")) is not None:
        found.append(("orderNumber", number, lambda o: str(o.get("orderNumber", "")).startswith(number)))
    if (status := _choice(params, "orderStatus", {s: s for s in ORDER_STATUSES})) is not None:
        found.append(("orderStatus", status, lambda o: o.get("orderStatus") == status))
    if (store := _integer(params, "storeId")) is not None:
        found.append(("storeId", store, lambda o: (o.get("advancedOptions") or {}).get("storeId") == store))
    for stored in ORDER_RANGES:
        base = stored[0].lower() + stored[1:]
        low, high = _when(params, f"{base}Start"), _when(params, f"{base}End")
        if (check := _between(stored, low, high)) is not None:
            found.append((stored, (low, high), check))
    return found


def order_listing(params: Mapping[str, str]) -> Listing:
    """Parse `GET /orders` parameters; 400 (`ApiError`) on anything malformed."""
    filters = _order_filters(params)
    paging = _paging(params, ORDER_SORTS)
    key = (tuple((name, value) for name, value, _ in filters), paging["sort_by"], paging["descending"])
    return Listing(predicates=tuple(check for *_, check in filters), key=key, **paging)


def product_listing(params: Mapping[str, str]) -> Listing:
    """Parse `GET /products` parameters."""
    checks: list[Predicate] = []
    if (sku := _text(params, "sku")) is not None:
        checks.append(lambda p: str(p.get("sku", "")).startswith(sku))
    if (name := _text(params, "name")) is not None:
        checks.append(_contains_any(name, lambda p: [p.get("name")]))
    if (category := _integer(params, "productCategoryId")) is not None:
        checks.append(lambda p: (p.get("productCategory") or {}).get("categoryId") == category)
    if (type_id := _integer(params, "productTypeId")) is not None:
        checks.append(lambda p: isinstance(kind := p.get("productType"), dict) and kind.get("id") == type_id)
    if (tag := _integer(params, "tagId")) is not None:
        checks.append(lambda p: any(t.get("tagId") == tag for t in p.get("tags") or ()))
    if (created := _between("createDate", _when(params, "startDate"), _when(params, "endDate"))) is not None:
        checks.append(created)
    if _choice(params, "showInactive", {"true": "true", "false": "false"}) != "true":
        checks.append(lambda p: p.get("active", True))
    return Listing(predicates=tuple(checks), **_paging(params, PRODUCT_SORTS))


def customer_listing(params: Mapping[str, str]) -> Listing:
    """Parse `GET /customers` parameters."""
    checks: list[Predicate] = []
    if (state := _text(params, "stateCode")) is not None:
        checks.append(lambda c: str(c.get("state") or "").upper() == state.upper())
    if (country := _text(params, "countryCode")) is not None:
        checks.append(lambda c: str(c.get("countryCode") or "").upper() == country.upper())
    if (market := _integer(params, "marketplaceId")) is not None:
        checks.append(lambda c: c.get("marketplaceId", 0) == market)
    if (tag := _integer(params, "tagId")) is not None:
        checks.append(lambda c: any(t.get("tagId") == tag for t in c.get("tags") or ()))
    return Listing(predicates=tuple(checks), **_paging(params, CUSTOMER_SORTS))


def run(records: list[Record], listing: Listing, id_field: str) -> list[Record]:
    """Filter and sort a small collection (ties broken by id, ascending before any reversal)."""
    rows = [r for r in records if listing.matches(r)]
    if listing.sort_by is not None:
        rows.sort(key=lambda r: (sort_value(r.get(listing.sort_by)), r[id_field]))
    else:
        rows.sort(key=lambda r: r[id_field])
    if listing.descending:
        rows.reverse()
    return rows


def sort_value(value: Any) -> tuple[bool, Any]:
    """Sort key for one field: nulls first (as SQL Server orders them), text case-insensitive."""
    return (value is not None, value.casefold() if isinstance(value, str) else value)

