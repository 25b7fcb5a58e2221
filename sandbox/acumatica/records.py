"""What every entity's business logic shares: stored records, the tenant lookups a graph may make,
field errors, and merging an incoming body over a stored record."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

Record = dict[str, Any]
ZERO = Decimal(0)
CLOSED_ORDER = ("Completed", "Canceled", "Invoiced", "Expired", "Rejected")
SHIPPABLE_ORDER = ("Open", "Back Order", "Shipping")
CAPTURED = ("Open", "Closed")
OPEN_SHIPMENT = ("Open", "On Hold")
DONE_SHIPMENT = ("Confirmed", "Completed", "Invoiced", "Partially Invoiced")


class Books(Protocol):
    """What a graph may look up in the tenant."""

    base_currency: str

    def now(self) -> datetime: ...
    def today(self) -> datetime: ...
    def find(self, entity: str, keys: tuple[str, ...]) -> Record | None: ...
    def all(self, entity: str) -> Iterable[Record]: ...
    def shipments_of(self, order_type: str, order_nbr: str) -> list[Record]: ...
    def number(self, entity: str) -> str: ...
    def new_id(self) -> str: ...


def fail(record: Record, field: str, message: str) -> None:
    record.setdefault("_errors", {})[field] = message


def dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def merge(current: Record, incoming: Record, new_id: Callable[[], str]) -> Record:
    """`incoming` written over `current`: values replace, linked entities merge, detail rows merge by
    `id`, rows marked `delete` go, rows without a known `id` are added."""
    out = dict(current)
    for name, value in incoming.items():
        if name in ("id", "delete"):
            continue
        if isinstance(value, dict):
            out[name] = merge(current.get(name) or {"id": new_id()}, value, new_id)
        elif isinstance(value, list):
            out[name] = _merge_rows(current.get(name) or [], value, new_id)
        else:
            out[name] = value
    return out


def _merge_rows(rows: list[Record], incoming: list[Record], new_id: Callable[[], str]) -> list[Record]:
    by_id = {row["id"]: n for n, row in enumerate(rows)}
    out: list[Record | None] = list(rows)
    for row in incoming:
        at = by_id.get(row.get("id", ""))
        if at is None:
            if not row.get("delete"):
                out.append(merge({"id": new_id()}, row, new_id))
        elif row.get("delete"):
            out[at] = None
        else:
            out[at] = merge(rows[at], row, new_id)
    return [row for row in out if row is not None]


def number_lines(rows: list[Record]) -> None:
    top = max((r.get("LineNbr") or 0 for r in rows), default=0)
    for row in rows:
        if row.get("LineNbr") is None:
            top += 1
            row["LineNbr"] = top


def has_errors(record: Any) -> bool:
    """Whether validation left an error anywhere in the record."""
    if isinstance(record, dict):
        return bool(record.get("_errors") or record.get("_error")) or any(has_errors(v) for v in record.values())
    if isinstance(record, list):
        return any(has_errors(v) for v in record)
    return False


def new_guid(rng: Any) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
