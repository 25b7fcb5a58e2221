"""Query strings of `GET /v2/shipments` and `GET /v2/labels` → filtered, sorted V1 rows (reference §5.1, §5.2).

Parameters and defaults from the V2 OpenAPI copy: `page` ≥ 1 (default 1; past the end → empty page),
`page_size` ≥ 1 (default 25), `sort_dir` `asc|desc` (default `desc`), `sort_by` `modified_at|created_at`
(labels default `created_at`; shipments: assumed the same). Shipment filters: `shipment_status`,
`batch_id`, `pickup_id`, `created_at_start/end`, `modified_at_start/end`, `payment_date_start/end`,
`sales_order_id`, `shipment_number`, `ship_to_name`, `item_keyword` (SKU, name and options),
`store_id`, `external_shipment_id`. Label filters: `label_status`, `service_code`, `carrier_id`,
`tracking_number`, `batch_id`, `rate_id`, `shipment_id`, `warehouse_id`, `created_at_start/end`.

Assumptions: date-times must carry `Z` or an offset (the spec's pattern), else 400; ranges are
inclusive; `shipment_number`, `external_shipment_id`, ids, codes and tracking numbers match exactly,
`ship_to_name` and `item_keyword` case-insensitively as "contains"; this account has no V2 batches,
pickups, rates or sales orders, so filtering by one of those matches nothing; an unknown enum value
is 400 `invalid_field_value`; `page_size` above 500 is clamped (the maximum is undocumented);
unknown parameters are ignored. Ties sort by id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sandbox.shipstation_v2.account import AccountView, se_id, shipment_status
from sandbox.shipstation_v2.carriers import carrier_id_of
from sandbox.shipstation_v2.errors import invalid

Record = dict[str, Any]
Check = Callable[[Record], bool]
SHIPMENT_STATUSES = ("pending", "processing", "label_purchased", "cancelled")
LABEL_STATUSES = ("processing", "completed", "error", "voided")
SORTS = ("modified_at", "created_at")
NOTHING_HERE = ("batch_id", "pickup_id", "sales_order_id", "rate_id")
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 500


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    value = _text(params, name)
    if value is None:
        return default
    if value not in allowed:
        raise invalid(f"{name} must be one of {', '.join(allowed)}")
    return value


def when(params: Mapping[str, str], name: str) -> datetime | None:
    """An ISO-8601 date-time parameter with `Z` or an offset; 400 otherwise."""
    value = _text(params, name)
    if value is None:
        return None
    try:
        # A "+" the client left unencoded arrives as a space: "…T10:00:00 05:30".
        head, sep, tail = value.partition("T")
        moment = datetime.fromisoformat(head + sep + tail.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} is not an ISO-8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        raise invalid(f"{name} needs a UTC designator or offset: {value!r}")
    return moment


def _range(params: Mapping[str, str], name: str, field: str) -> Check | None:
    low, high = when(params, f"{name}_start"), when(params, f"{name}_end")
    if low is None and high is None:
        return None
    return lambda r: (r.get(field) is not None and (low is None or r[field] >= low)
                      and (high is None or r[field] <= high))


def _contains(needle: str | None, texts: Callable[[Record], list[Any]]) -> Check | None:
    if needle is None:
        return None
    folded = needle.casefold()
    return lambda r: any(folded in str(t).casefold() for t in texts(r) if t)


def _equals(params: Mapping[str, str], name: str, value: Callable[[Record], Any]) -> Check | None:
    wanted = _text(params, name)
    return None if wanted is None else (lambda r: value(r) == wanted)


def _item_texts(order: Record) -> list[Any]:
    texts: list[Any] = []
    for line in order.get("items") or ():
        texts += [line.get("sku"), line.get("name"), *[o.get("value") for o in line.get("options") or ()]]
    return texts


def _nothing(params: Mapping[str, str]) -> Check | None:
    return (lambda r: False) if any(_text(params, name) for name in NOTHING_HERE) else None


def page_size(params: Mapping[str, str]) -> int:
    """`page_size` (default 25, at least 1, clamped to 500)."""
    raw = _text(params, "page_size")
    try:
        size = DEFAULT_PAGE_SIZE if raw is None else int(raw)
    except ValueError:
        raise invalid("page_size must be an integer") from None
    if size < 1:
        raise invalid("page_size must be at least 1")
    return min(size, MAX_PAGE_SIZE)


def _order(params: Mapping[str, str]) -> tuple[str, bool]:
    sort_by = _choice(params, "sort_by", SORTS, "created_at") or "created_at"
    return sort_by, _choice(params, "sort_dir", ("asc", "desc"), "desc") == "desc"


def _select(rows: list[Record], checks: list[Check], descending: bool) -> list[Record]:
    chosen = [r for r in rows if all(check(r) for check in checks)]
    return chosen[::-1] if descending else chosen


def shipment_rows(view: AccountView, params: Mapping[str, str]) -> list[Record]:
    """V1 orders matching a `GET /v2/shipments` query, in the requested order."""
    status = _choice(params, "shipment_status", SHIPMENT_STATUSES)
    checks = [c for c in (
        None if status is None else (lambda o: shipment_status(o) == status),
        _range(params, "created_at", "createDate"), _range(params, "modified_at", "modifyDate"),
        _range(params, "payment_date", "paymentDate"), _nothing(params),
        _equals(params, "shipment_number", lambda o: o.get("orderNumber")),
        _equals(params, "external_shipment_id", lambda o: o.get("orderKey")),
        _equals(params, "store_id", lambda o: se_id((o.get("advancedOptions") or {}).get("storeId"))),
        _contains(_text(params, "ship_to_name"), lambda o: [(o.get("shipTo") or {}).get("name")]),
        _contains(_text(params, "item_keyword"), _item_texts),
    ) if c is not None]
    sort_by, descending = _order(params)
    return _select(view.orders(sort_by), checks, descending)


def label_rows(view: AccountView, params: Mapping[str, str]) -> list[Record]:
    """V1 labels matching a `GET /v2/labels` query, in the requested order."""
    status = _choice(params, "label_status", LABEL_STATUSES)
    checks = [c for c in (
        None if status is None else (lambda s: ("voided" if s.get("voided") else "completed") == status),
        _range(params, "created_at", "createDate"), _nothing(params),
        _equals(params, "service_code", lambda s: s.get("serviceCode")),
        _equals(params, "carrier_id", lambda s: carrier_id_of(s.get("carrierCode"))),
        _equals(params, "shipment_id", lambda s: se_id(s.get("orderId"))),
        _equals(params, "warehouse_id", lambda s: se_id(s.get("warehouseId"))),
    ) if c is not None]
    sort_by, descending = _order(params)
    number = _text(params, "tracking_number")
    rows = view.labels(sort_by) if number is None else view.labels_tracked(number, sort_by)
    return _select(rows, checks, descending)
