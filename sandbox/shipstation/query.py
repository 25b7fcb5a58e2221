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
- Parameter names are case-insensitive, as ASP.NET binds them: webhook URLs say `storeID` (§4).
- Shipments: `recipientName` is case-insensitive "contains", `orderNumber` "starts with" as on
  orders; `recipientCountryCode`, `carrierCode` and `serviceCode` match exactly but case-insensitively;
  `trackingNumber` and `orderId` exactly. `shipDateStart/End` compare Pacific calendar dates (a time
  part is accepted and ignored). `includeShipmentItems` takes `true`/`false` in any case.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
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
SHIPMENT_SORTS = {"shipdate": "shipDate", "createdate": "createDate"}
SHIPMENT_RANGES = ("createDate", "voidDate")
_BOOLEANS = {"true": "true", "false": "false"}

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
Filter = tuple[str, Any, Predicate]


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


def _fold(params: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in params.items()}


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name.lower())
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


def _order_filters(
    params: Mapping[str, str], import_batch: Callable[[str], frozenset[int]],
) -> list[Filter]:
    found: list[Filter] = []
    if (batch := _text(params, "importBatch")) is not None:
        members = import_batch(batch)
        found.append(("importBatch", batch, lambda o: o["orderId"] in members))
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


def _no_batch(_: Any) -> frozenset[int]:
    return frozenset()


def order_listing(
    params: Mapping[str, str], import_batch: Callable[[str], frozenset[int]] = _no_batch,
) -> Listing:
    """Parse `GET /orders` parameters; 400 (`ApiError`) on anything malformed.

    `importBatch` (the id in ORDER_NOTIFY resource URLs, §4) keeps the orders `import_batch` names.
    """
    params = _fold(params)
    filters = _order_filters(params, import_batch)
    paging = _paging(params, ORDER_SORTS)
    key = (tuple((name, value) for name, value, _ in filters), paging["sort_by"], paging["descending"])
    return Listing(predicates=tuple(check for *_, check in filters), key=key, **paging)


def product_listing(params: Mapping[str, str]) -> Listing:
    """Parse `GET /products` parameters."""
    params = _fold(params)
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
    if _choice(params, "showInactive", _BOOLEANS) != "true":
        checks.append(lambda p: p.get("active", True))
    return Listing(predicates=tuple(checks), **_paging(params, PRODUCT_SORTS))


def customer_listing(params: Mapping[str, str]) -> Listing:
    """Parse `GET /customers` parameters."""
    params = _fold(params)
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


def _same(params: Mapping[str, str], name: str, value: Callable[[Record], Any]) -> Filter | None:
    wanted = _text(params, name)
    if wanted is None:
        return None
    folded = wanted.casefold()
    return name, folded, lambda r: str(value(r) or "").casefold() == folded


def _number(params: Mapping[str, str], name: str, value: Callable[[Record], Any]) -> Filter | None:
    wanted = _integer(params, name)
    return None if wanted is None else (name, wanted, lambda r: value(r) == wanted)


def _ship_dates(params: Mapping[str, str]) -> Filter | None:
    low, high = _when(params, "shipDateStart"), _when(params, "shipDateEnd")
    if low is None and high is None:
        return None
    first = low.astimezone(pacific.PACIFIC).date() if low else date.min
    last = high.astimezone(pacific.PACIFIC).date() if high else date.max
    return "shipDate", (first, last), lambda s: s.get("shipDate") is not None and first <= s["shipDate"] <= last


def _shipment_filters(params: Mapping[str, str], batch: Callable[[int], frozenset[int]]) -> list[Filter]:
    recipient = _text(params, "recipientName")
    number, tracking = _text(params, "orderNumber"), _text(params, "trackingNumber")
    batch_id = _integer(params, "batchId")
    members = batch(batch_id) if batch_id is not None else frozenset()
    found = [
        _same(params, "recipientCountryCode", lambda s: (s.get("shipTo") or {}).get("country")),
        _same(params, "carrierCode", lambda s: s.get("carrierCode")),
        _same(params, "serviceCode", lambda s: s.get("serviceCode")),
        _number(params, "orderId", lambda s: s.get("orderId")),
        _number(params, "storeId", lambda s: (s.get("advancedOptions") or {}).get("storeId")),
        _ship_dates(params),
        None if recipient is None else (
            "recipientName", recipient, _contains_any(recipient, lambda s: [(s.get("shipTo") or {}).get("name")])),
        None if number is None else (
            "orderNumber", number, lambda s: str(s.get("orderNumber", "")).startswith(number)),
        None if tracking is None else ("trackingNumber", tracking, lambda s: s.get("trackingNumber") == tracking),
        None if batch_id is None else ("batchId", batch_id, lambda s: s["shipmentId"] in members),
    ]
    for stored in SHIPMENT_RANGES:
        low, high = _when(params, f"{stored}Start"), _when(params, f"{stored}End")
        if (check := _between(stored, low, high)) is not None:
            found.append((stored, (low, high), check))
    return [f for f in found if f is not None]


def shipment_listing(
    params: Mapping[str, str], batch: Callable[[int], frozenset[int]] = lambda _: frozenset(),
) -> tuple[Listing, bool]:
    """Parse `GET /shipments` parameters (§3.1): the listing and whether to include shipment items.

    `batchId` (not in the docs' filter list, but in SHIP_NOTIFY resource URLs, §4) keeps the labels
    `batch` names.
    """
    params = _fold(params)
    filters = _shipment_filters(params, batch)
    paging = _paging(params, SHIPMENT_SORTS)
    items = _choice(params, "includeShipmentItems", _BOOLEANS) == "true"
    key = (tuple((name, value) for name, value, _ in filters), paging["sort_by"], paging["descending"])
    return Listing(predicates=tuple(check for *_, check in filters), key=key, **paging), items


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



QUERY_CACHE_SIZE = 64


def cached_page(views: dict[Any, list[Record]], listing: Listing,
                sorted_rows: Callable[[str | None], list[Record]]) -> tuple[list[Record], int]:
    """One page of the rows matching `listing`, and their total; each query's result is kept in `views`
    (which the caller clears on any change) beside the sorted views it was filtered from."""
    cache_key = ("query", listing.key)
    rows = views.get(cache_key)
    if rows is None:
        candidates, checks = _in_sorted_range(sorted_rows(listing.sort_by), listing)
        rows = [r for r in candidates if all(check(r) for check in checks)] if checks else list(candidates)
        if listing.descending:
            rows.reverse()
        if len(views) > QUERY_CACHE_SIZE:
            for key in [k for k in views if k[0] != "sorted"]:
                del views[key]
        views[cache_key] = rows
    return listing.window(rows), len(rows)


_DATETIME_RANGES = frozenset(ORDER_RANGES) | frozenset(SHIPMENT_RANGES)  # filters built by `_between`


def _in_sorted_range(rows: list[Record], listing: Listing) -> tuple[list[Record], tuple[Predicate, ...]]:
    """The part of `rows` (sorted by `listing.sort_by`, nulls first) a Start/End filter on that same field
    can match, found by bisection, and the filters left to apply to it (all but that one: every row of the
    part passes it). A keyset scan (modifyDateStart moved on each page, sorted by modifyDate) asks a new
    query per page: filtering every order for each page made a scan's CPU grow with the square of the
    orders, not its answers; testing the rest of the orders against the range it was cut by did too."""
    field_name = listing.sort_by
    if field_name not in _DATETIME_RANGES or not listing.key:
        return rows, listing.predicates
    at = next((n for n, (name, _) in enumerate(listing.key[0]) if name == field_name), None)
    if at is None:
        return rows, listing.predicates
    low, high = listing.key[0][at][1]

    def key(record: Record) -> tuple[bool, Any]:
        return sort_value(record.get(field_name))

    # (True,) sorts after every null and before every value: the range's rows all have one
    start = bisect_left(rows, (True,) if low is None else (True, low), key=key)
    end = len(rows) if high is None else bisect_right(rows, (True, high), key=key)
    return rows[start:end], listing.predicates[:at] + listing.predicates[at + 1:]
