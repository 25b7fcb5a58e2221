"""OData pieces of the contract-based API's queries (reference §5): filter literals, $expand/$select, page size."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from connectors.acumatica import settings


def query(expand: Sequence[str], select: Sequence[str]) -> dict[str, str | None]:
    """`$expand` and `$select` parameters (None when empty, so they are not sent)."""
    return {"$expand": ",".join(expand) or None, "$select": ",".join(select) or None}


def between(field: str, start: datetime, end: datetime) -> str:
    """A `$filter` clause: `field` within [start, end] (aware instants)."""
    return f"{field} ge {odata_instant(start)} and {field} le {odata_instant(end)}"


def odata_instant(value: datetime) -> str:
    """An aware instant as an OData literal: `datetimeoffset'2024-06-01T00:00:00.000Z'` (§5)."""
    if value.tzinfo is None:
        raise ValueError("filter datetimes must be aware")
    return f"datetimeoffset'{value.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z'"


def page_size(size: int) -> int:
    """`size` if Acumatica may be asked for pages that big (`$top`)."""
    if not 1 <= size <= settings.MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{settings.MAX_PAGE_SIZE}, got {size}")
    return size
