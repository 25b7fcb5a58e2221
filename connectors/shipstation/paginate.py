"""V1 page-number pagination (§1.4): ``page`` from 1, envelope ``{"<items>": [...], "total", "page", "pages"}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.common.errors import RecordError
from connectors.common.timezones import format_pacific_filter, is_ambiguous_pacific, parse_pacific, to_utc
from connectors.shipstation.models import Page
from connectors.shipstation.settings import SYSTEM


@dataclass
class PageNumberPaginator:
    """Tracks the page to ask for next; one instance per query.

    Stops when ``page >= pages`` **or** the page came back empty: the docs' own examples show
    ``"pages": 0`` next to ``"total": 2``, and a page past the end is empty.
    """

    items_key: str
    page: int = 1

    def params(self, page_size: int) -> dict[str, int]:
        """Query parameters for the current page."""
        return {"page": self.page, "pageSize": page_size}

    def next_page(self, response_page: Mapping[str, Any] | Page[Any]) -> int | None:
        """Advance past ``response_page``; return the next page number, or ``None`` when done."""
        if isinstance(response_page, Page):
            items, pages = response_page.items, response_page.pages
        else:
            items, pages = response_page.get(self.items_key) or [], int(response_page.get("pages") or 0)
        # Count from the page we asked for, not the echoed one, so a server that ignores `page` ends us.
        if not items or self.page >= pages:
            return None
        self.page += 1
        return self.page

    def restart(self) -> None:
        """Go back to page 1 (the query changed)."""
        self.page = 1


def _floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


@dataclass
class ModifyDateScan:
    """Keyset walk over ``GET /orders`` sorted by ``modifyDate`` ascending (§6.2).

    Page numbers alone are unsafe while orders are being edited: an edited order leaves its place
    and moves to the end (its ``modifyDate`` is now the newest), every later row shifts up one, and
    the row that was first on the next page slides onto the page already read — silently skipped.
    So after each page the query restarts from the last ``modifyDate`` seen (floored to the
    second, the filter's resolution) at page 1; if a whole page shares one second, plain page
    numbers carry on within that second (and within the DST fall-back hour). Rows met twice are
    dropped by ``(orderId, modifyDate)``; only keys at or after the current start are remembered, so
    memory does not grow with the scan.
    An order edited mid-scan is seen again later with its new ``modifyDate`` (a newer version).
    """

    start: datetime
    end: datetime | None = None
    _seen: set[tuple[Any, datetime]] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.start = to_utc(self.start, "modify_date_start")
        self.end = to_utc(self.end, "modify_date_end") if self.end is not None else None

    def params(self) -> dict[str, str]:
        """The filter and sort for the current query, in Pacific wall time (§1.3)."""
        query = {"modifyDateStart": format_pacific_filter(self.start), "sortBy": "ModifyDate", "sortDir": "ASC"}
        if self.end is not None:
            query["modifyDateEnd"] = format_pacific_filter(self.end, round_up=True)
        return query

    def admit(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records of this page not already yielded in this scan."""
        fresh = []
        for record in records:
            key = (record.get("orderId"), modify_date_of(record))
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(record)
        return fresh

    def advance(self, records: Sequence[Mapping[str, Any]]) -> bool:
        """Move the start to the page's last ``modifyDate`` second; ``True`` if the query changed."""
        if not records:
            return False
        last = _floor_second(max(modify_date_of(record) for record in records))
        # In the fall-back hour a wall-clock filter names two instants; keep paging by number there.
        if last <= _floor_second(self.start) or is_ambiguous_pacific(last):
            return False
        self.start = last
        self._seen = {key for key in self._seen if key[1] >= last}
        return True


def modify_date_of(record: Mapping[str, Any]) -> datetime:
    """An order's ``modifyDate`` as aware UTC; a missing or bad one raises ``RecordError``."""
    value = record.get("modifyDate")
    try:
        return parse_pacific(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        label = f"orderId={record.get('orderId')} orderNumber={record.get('orderNumber')}"
        raise RecordError(SYSTEM, label, "modifyDate", str(error)) from None
