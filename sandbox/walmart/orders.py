"""Purchase orders: line statuses, the list filters and `nextCursor` paging of `GET /v3/orders`.

An order is kept in Walmart's own JSON shape (reference §7; the OpenAPI examples in
highsidelabs/walmart-api-php `resources/schemas/us/mp/orders.json`) plus when it was created,
last modified and released. Line quantities move between status entries of
`orderLineStatuses.orderLineStatus[]` (Created → Acknowledged → Shipped → Delivered, or Cancelled),
so a partly cancelled line carries two entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.walmart.clock import epoch_ms, from_epoch_ms, parse_filter_date
from sandbox.walmart.errors import WalmartError, bad_content, bad_param

SERVICE = "GMP_ORDER_API"
Record = dict[str, Any]
LINE_STATUSES = ("Created", "Acknowledged", "Shipped", "Delivered", "Cancelled", "Refund")
CANCEL_REASONS = ("CUSTOMER_REQUESTED_SELLER_TO_CANCEL", "SELLER_CANCEL_PRICING_ERROR", "SELLER_CANCEL_OUT_OF_STOCK",
                  "SELLER_CANCEL_FRAUD_STOP_SHIPMENT", "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE")
SHIP_NODE_TYPES = ("SellerFulfilled", "WFSFulfilled", "3PLFulfilled")
DEFAULT_LIMIT, MAX_LIMIT = 100, 200
PARTNER_ID, SELLER_ID = "10001234567", "101"
_DATE_FILTERS = ("createdStartDate", "createdEndDate", "lastModifiedStartDate", "lastModifiedEndDate",
                 "fromExpectedShipDate", "toExpectedShipDate")
_TEXT_FILTERS = ("sku", "customerOrderId", "purchaseOrderId", "status", "shipNodeType", "shippingProgramType",
                 "orderType", "productInfo", "replacementInfo")


@dataclass
class Order:
    """One purchase order: its Walmart document and the dates the API filters on."""

    doc: Record
    created: datetime
    modified: datetime
    released: bool = True

    @property
    def po(self) -> str:
        return self.doc["purchaseOrderId"]

    @property
    def lines(self) -> list[Record]:
        return self.doc["orderLines"]["orderLine"]

    def line(self, number: str) -> Record:
        """The line with this `lineNumber` (400 when there is none)."""
        for line in self.lines:
            if line["lineNumber"] == str(number):
                return line
        raise bad_content(f"lineNumber {number} is not a line of order {self.po}", SERVICE, field="lineNumber")

    def statuses(self) -> set[str]:
        """Every status any of its lines is (partly) in."""
        return {s["status"] for line in self.lines for s in line["orderLineStatuses"]["orderLineStatus"]}


def quantity(amount: int) -> Record:
    """`{"unitOfMeasurement": "EACH", "amount": "n"}` (the amount is a string)."""
    return {"unitOfMeasurement": "EACH", "amount": str(amount)}


def status_quantities(line: Record) -> dict[str, int]:
    """Units of the line per status."""
    out: dict[str, int] = {}
    for entry in line["orderLineStatuses"]["orderLineStatus"]:
        out[entry["status"]] = out.get(entry["status"], 0) + int(entry["statusQuantity"]["amount"])
    return out


def move(line: Record, units: int, sources: Iterable[str], target: str, at: datetime, **extra: Any) -> None:
    """Move `units` of `line` from the `sources` statuses (in that order) into `target`.

    400 when fewer than `units` are in those statuses (e.g. cancelling a shipped unit).
    """
    sources = tuple(sources)
    entries = line["orderLineStatuses"]["orderLineStatus"]
    available = sum(int(e["statusQuantity"]["amount"]) for e in entries if e["status"] in sources)
    if units < 1 or units > available:
        raise bad_content(f"line {line['lineNumber']} has {available} unit(s) in {'/'.join(sources)}, "
                          f"cannot move {units} to {target}", SERVICE, field="statusQuantity")
    left = units
    for status in sources:
        for entry in [e for e in entries if e["status"] == status]:
            take = min(left, int(entry["statusQuantity"]["amount"]))
            rest = int(entry["statusQuantity"]["amount"]) - take
            entry["statusQuantity"] = quantity(rest)
            left -= take
    entries[:] = [e for e in entries if int(e["statusQuantity"]["amount"]) > 0]
    entries.append({"status": target, "statusQuantity": quantity(units), **extra})
    line["statusDate"] = epoch_ms(at)


@dataclass(frozen=True)
class OrderQuery:
    """The filters of one list call, with the created-date window resolved (and frozen in cursors)."""

    filters: Mapping[str, str]
    windows: Mapping[str, datetime]
    limit: int
    offset: int = 0
    released_only: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    def cursor(self, total: int) -> str:
        """The next page's `nextCursor`: a ready-made query string (reference §7)."""
        params = {"limit": str(self.limit), "hasMoreElements": "true", "soIndex": str(total),
                  "poIndex": str(self.offset + self.limit), "partnerId": PARTNER_ID, "sellerId": SELLER_ID}
        params |= {k: v for k, v in self.filters.items()}
        params |= {k: _cursor_date(v) for k, v in self.windows.items()}
        return "?" + urlencode(params)


def _cursor_date(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_param(name, "must be an integer", SERVICE) from None


def expand_cursor(params: Mapping[str, str]) -> dict[str, str]:
    """Query parameters with a `nextCursor=<query string>` parameter spread out (how some clients send it)."""
    out = {k: v for k, v in params.items() if k != "nextCursor"}
    if "nextCursor" in params:
        out |= dict(parse_qsl(params["nextCursor"].lstrip("?"), keep_blank_values=True))
    return out


def parse_query(raw: Mapping[str, str], now: datetime, *, released_only: bool = False) -> OrderQuery:
    """Validate `GET /v3/orders[/released]` parameters; 400 names the offending parameter."""
    params = expand_cursor(raw)
    limit = _int_param(params, "limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_param("limit", f"must be between 1 and {MAX_LIMIT}", SERVICE)
    paging = params.get("hasMoreElements") is not None or params.get("poIndex") is not None
    offset = _int_param(params, "poIndex", 0) if paging else 0
    if offset < 0:
        raise bad_param("poIndex", "must not be negative", SERVICE)
    windows: dict[str, datetime] = {}
    for name in _DATE_FILTERS:
        if params.get(name):
            try:
                windows[name] = parse_filter_date(params[name])
            except ValueError:
                raise bad_param(name, "must be yyyy-MM-dd or an ISO-8601 UTC timestamp", SERVICE) from None
    windows.setdefault("createdStartDate", now - timedelta(days=7))
    windows.setdefault("createdEndDate", now)
    if windows["createdStartDate"] < now - timedelta(days=180):
        windows["createdStartDate"] = now - timedelta(days=180)  # only the last 180 days are served
    filters = {k: params[k] for k in _TEXT_FILTERS if params.get(k)}
    if released_only:
        filters["status"] = "Created"
    _check_enums(filters)
    return OrderQuery(filters, windows, limit, offset, released_only)


def _check_enums(filters: Mapping[str, str]) -> None:
    if "status" in filters and filters["status"] not in LINE_STATUSES[:5]:
        raise bad_param("status", f"must be one of {', '.join(LINE_STATUSES[:5])}", SERVICE)
    if "shipNodeType" in filters and filters["shipNodeType"] not in SHIP_NODE_TYPES:
        raise bad_param("shipNodeType", f"must be one of {', '.join(SHIP_NODE_TYPES)}", SERVICE)


def _in(value: datetime, windows: Mapping[str, datetime], start: str, end: str) -> bool:
    return (start not in windows or value >= windows[start]) and (end not in windows or value <= windows[end])


def matches(order: Order, query: OrderQuery) -> bool:
    """Whether `order` answers the query (released orders only; seller-fulfilled unless asked)."""
    f, w, doc = query.filters, query.windows, order.doc
    if not order.released:
        return False
    if not _in(order.created, w, "createdStartDate", "createdEndDate"):
        return False
    if not _in(order.modified, w, "lastModifiedStartDate", "lastModifiedEndDate"):
        return False
    ship = from_epoch_ms(doc["shippingInfo"]["estimatedShipDate"])
    if not _in(ship, w, "fromExpectedShipDate", "toExpectedShipDate"):
        return False
    if doc.get("shipNode", {}).get("type", "SellerFulfilled") != f.get("shipNodeType", "SellerFulfilled"):
        return False
    checks = {"purchaseOrderId": lambda v: order.po == v, "customerOrderId": lambda v: doc["customerOrderId"] == v,
              "sku": lambda v: any(line["item"]["sku"] == v for line in order.lines),
              "status": lambda v: v in order.statuses(), "orderType": lambda v: doc.get("orderType") == v}
    return all(check(f[name]) for name, check in checks.items() if name in f)


def view(order: Order, query_flags: Mapping[str, str]) -> Record:
    """The order as the API shows it: `imageUrl`/`weight` only with `productInfo=true`,
    `orderType`/`originalCustomerOrderID` only with `replacementInfo=true`."""
    product_info = query_flags.get("productInfo", "false") == "true"
    replacement = query_flags.get("replacementInfo", "false") == "true"
    doc = {k: v for k, v in order.doc.items() if replacement or k not in ("orderType", "originalCustomerOrderID")}
    lines = []
    for line in order.lines:
        item = line["item"] if product_info else {k: line["item"][k] for k in ("productName", "sku")}
        lines.append({**line, "item": item})
    return {**doc, "orderLines": {"orderLine": lines}}


def page(orders: Iterable[Order], query: OrderQuery) -> tuple[list[Order], int, str | None]:
    """This page's orders (newest first), the total and the next cursor (None on the last page)."""
    hits = sorted((o for o in orders if matches(o, query)), key=lambda o: (-o.doc["orderDate"], o.po))
    rows = hits[query.offset: query.offset + query.limit]
    more = query.offset + query.limit < len(hits)
    return rows, len(hits), query.cursor(len(hits)) if more else None


def next_query(query: OrderQuery) -> OrderQuery:
    """The query the cursor of `query` stands for."""
    return replace(query, offset=query.offset + query.limit)


def require_object(body: Any, key: str) -> Record:
    """`body[key]` as a JSON object, else 400."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_content(f"body must be {{\"{key}\": {{...}}}}", SERVICE, field=key)
    return body[key]


def order_lines_of(body: Record, key: str) -> list[Record]:
    """`body[key].orderLines.orderLine[]`, validated to be a non-empty list of objects."""
    lines = require_object(body, key).get("orderLines", {}).get("orderLine")
    if not isinstance(lines, list) or not lines or not all(isinstance(x, dict) for x in lines):
        raise bad_content(f"{key}.orderLines.orderLine must be a non-empty list", SERVICE, field="orderLine")
    return lines


def status_entry(line: Record) -> Record:
    """The single `orderLineStatuses.orderLineStatus[0]` of a request line."""
    entries = line.get("orderLineStatuses", {}).get("orderLineStatus")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise bad_content("each line needs exactly one orderLineStatus", SERVICE, field="orderLineStatus")
    return entries[0]


def requested_units(entry: Record) -> int:
    """`statusQuantity.amount` as a positive integer."""
    try:
        units = int(str(entry["statusQuantity"]["amount"]))
    except (KeyError, TypeError, ValueError):
        raise bad_content("statusQuantity.amount must be a whole number", SERVICE, field="statusQuantity") from None
    if units < 1:
        raise bad_content("statusQuantity.amount must be at least 1", SERVICE, field="statusQuantity")
    return units


def ensure(condition: bool, why: str, field_name: str | None = None) -> None:
    """400 INVALID_REQUEST_CONTENT unless `condition`."""
    if not condition:
        raise WalmartError(400, f"INVALID_REQUEST_CONTENT.{SERVICE}", f"[sandbox] {why}", field=field_name)
