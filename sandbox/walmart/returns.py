"""Return orders: `GET /v3/returns` filters, its offset `nextCursor`, and refunds (reference §8).

Shapes follow the OpenAPI example (highsidelabs/walmart-api-php `resources/schemas/us/mp/returns.json`):
`{"meta": {"totalCount", "limit", "nextCursor": "?sellerId=..&limit=10&offset=10"}, "returnOrders": [...]}`.
Assumptions: newest return first; an empty result is 200 with no rows (unlike orders); a refund moves
every refundable unit of the named lines to `REFUND_COMPLETED` and the return to `COMPLETED`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sandbox.walmart.clock import iso_z, parse_filter_date
from sandbox.walmart.errors import bad_content, bad_param
from sandbox.walmart.orders import SELLER_ID, expand_cursor

SERVICE = "GMP_RETURNS_API"
Record = dict[str, Any]
STATUSES = ("INITIATED", "DELIVERED", "COMPLETED")
RETURN_TYPES = ("REFUND", "REPLACEMENT")
DEFAULT_LIMIT, MAX_LIMIT = 10, 200
_DATES = ("returnCreationStartDate", "returnCreationEndDate", "returnLastModifiedStartDate",
          "returnLastModifiedEndDate")
_TEXT = ("returnOrderId", "customerOrderId", "status", "returnType", "replacementInfo")


@dataclass
class ReturnOrder:
    """One return order document and its dates."""

    doc: Record
    created: datetime
    modified: datetime

    @property
    def rma(self) -> str:
        return self.doc["returnOrderId"]


def money(amount: Decimal, currency: str) -> Record:
    """`{"currencyAmount", "currencyUnit"}`, the returns API's money shape."""
    return {"currencyAmount": amount, "currencyUnit": currency}


@dataclass(frozen=True)
class ReturnQuery:
    filters: Mapping[str, str]
    windows: Mapping[str, datetime]
    limit: int
    offset: int

    def cursor(self) -> str:
        """The next page's query string."""
        params = {"sellerId": SELLER_ID, "limit": str(self.limit), "offset": str(self.offset + self.limit)}
        params |= dict(self.filters)
        params |= {k: iso_z(v) for k, v in self.windows.items()}
        return "?" + urlencode(params)


def parse_query(raw: Mapping[str, str]) -> ReturnQuery:
    """Validate `GET /v3/returns` parameters."""
    params = expand_cursor(raw)
    try:
        limit = int(params.get("limit") or DEFAULT_LIMIT)
        offset = int(params.get("offset") or 0)
    except ValueError:
        raise bad_param("limit/offset", "must be integers", SERVICE) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_param("limit", f"must be between 1 and {MAX_LIMIT}", SERVICE)
    if offset < 0:
        raise bad_param("offset", "must not be negative", SERVICE)
    windows = {}
    for name in _DATES:
        if params.get(name):
            try:
                windows[name] = parse_filter_date(params[name])
            except ValueError:
                raise bad_param(name, "must be yyyy-MM-dd or an ISO-8601 UTC timestamp", SERVICE) from None
    filters = {k: params[k] for k in _TEXT if params.get(k)}
    if filters.get("status", STATUSES[0]) not in STATUSES:
        raise bad_param("status", f"must be one of {', '.join(STATUSES)}", SERVICE)
    if filters.get("returnType", RETURN_TYPES[0]) not in RETURN_TYPES:
        raise bad_param("returnType", f"must be one of {', '.join(RETURN_TYPES)}", SERVICE)
    return ReturnQuery(filters, windows, limit, offset)


def _between(value: datetime, windows: Mapping[str, datetime], start: str, end: str) -> bool:
    return (start not in windows or value >= windows[start]) and (end not in windows or value <= windows[end])


def matches(ret: ReturnOrder, query: ReturnQuery) -> bool:
    """Whether a return answers the query."""
    f, doc = query.filters, ret.doc
    if not _between(ret.created, query.windows, "returnCreationStartDate", "returnCreationEndDate"):
        return False
    if not _between(ret.modified, query.windows, "returnLastModifiedStartDate", "returnLastModifiedEndDate"):
        return False
    line_statuses = {line["status"] for line in doc["returnOrderLines"]}
    checks = {"returnOrderId": lambda v: ret.rma == v, "customerOrderId": lambda v: doc["customerOrderId"] == v,
              "status": lambda v: v in line_statuses, "returnType": lambda v: doc.get("returnType", "REFUND") == v}
    return all(check(f[name]) for name, check in checks.items() if name in f)


def page(returns: Iterable[ReturnOrder], query: ReturnQuery) -> Record:
    """The list document for one page."""
    hits = sorted((r for r in returns if matches(r, query)), key=lambda r: (-r.created.timestamp(), r.rma))
    rows = hits[query.offset: query.offset + query.limit]
    meta: Record = {"totalCount": len(hits), "limit": query.limit}
    if query.offset + query.limit < len(hits):
        meta["nextCursor"] = query.cursor()
    return {"meta": meta, "returnOrders": [r.doc for r in rows]}


def refund(ret: ReturnOrder, body: Any, at: datetime) -> Record:
    """Apply `POST /v3/returns/{id}/refund`; the echo the API answers."""
    lines = body.get("refundLines") if isinstance(body, dict) else None
    if not isinstance(lines, list) or not lines:
        raise bad_content("refundLines must be a non-empty list", SERVICE, field="refundLines")
    if body.get("customerOrderId") != ret.doc["customerOrderId"]:
        raise bad_content("customerOrderId does not match the return", SERVICE, field="customerOrderId")
    by_number = {line["returnOrderLineNumber"]: line for line in ret.doc["returnOrderLines"]}
    for request in lines:
        line = by_number.get(request.get("returnOrderLineNumber") if isinstance(request, dict) else None)
        if line is None:
            raise bad_content("unknown returnOrderLineNumber", SERVICE, field="returnOrderLineNumber")
        complete_line(line, at)
    ret.modified = at
    return {"returnOrderId": ret.rma, "customerOrderId": ret.doc["customerOrderId"], "refundLines": lines}


def complete_line(line: Record, at: datetime) -> None:
    """Refund every unit of a return line: REFUND_COMPLETED, status COMPLETED."""
    units = line["quantity"]["measurementValue"]
    line |= {"currentRefundStatus": "REFUND_COMPLETED", "refundedQty": units, "status": "COMPLETED",
             "statusTime": iso_z(at), "cancellableQty": 0}
    line["currentTrackingStatuses"] = [{"status": "COMPLETED", "statusTime": iso_z(at),
                                        "currentRefundStatus": "REFUND_COMPLETED",
                                        "quantity": {"unitOfMeasure": "EACH", "measurementValue": units}}]
