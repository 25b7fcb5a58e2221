"""V1 page-number pagination (§1.4): ``page`` from 1, envelope ``{"<items>": [...], "total", "page", "pages"}``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.common.errors import RecordError, ServerError
from connectors.common.timezones import to_utc
from connectors.shipstation.models import Page
from connectors.shipstation.settings import SYSTEM
from connectors.shipstation.timezones import format_pacific_filter, is_ambiguous_pacific, parse_pacific

Record = Mapping[str, Any]


def _page_count(value: Any) -> int:
    """The envelope's `pages` (found by the fuzzer: "many" or 1e400 escaped as ValueError/OverflowError)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError, ArithmeticError):
        raise ServerError(f"page count {str(value)[:40]!r} is not a number", system=SYSTEM) from None


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
            items, pages = response_page.get(self.items_key) or [], _page_count(response_page.get("pages"))
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


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class KeysetScan:
    """Keyset walk over a V1 list sorted ascending by one record date (§6.2), e.g. ``modifyDate``.

    Page numbers alone are unsafe while rows move: an order edited mid-scan leaves its place and
    moves to the end, every later row shifts up one, and the row that was first on the next page
    slides onto the page already read — silently skipped. Rows that tie on the sort date may also
    swap places between two requests. So after each page the query restarts at page 1 from the last
    sort date seen (floored to the second, the filter's resolution); if a whole page shares one
    second, plain page numbers carry on within that second (and within the DST fall-back hour,
    where a wall-clock filter names two instants).

    The caller's window is ``[start, end]`` on ``window_field`` (``modifyDate``, ``createDate``,
    ``voidDate``…). When the window is on another field than the sort, the keyset is an extra
    ``<sort_field>Start`` filter. Rows met twice are dropped by ``identity(record, sort_date)``;
    only rows at or after the keyset can come back, so older keys are forgotten and memory does not
    grow with the scan.
    """

    def __init__(
        self,
        start: datetime,
        end: datetime | None = None,
        *,
        sort_field: str,
        window_field: str | None = None,
        identity: Callable[[Record, datetime], Hashable],
        label_fields: tuple[str, ...],
    ) -> None:
        self.window_field = window_field or sort_field
        self.sort_field = sort_field
        self.start = to_utc(start, f"{_snake(self.window_field)}_start")
        self.end = to_utc(end, f"{_snake(self.window_field)}_end") if end is not None else None
        self.keyset: datetime | None = self.start if self.window_field == sort_field else None
        self._identity = identity
        self._label_fields = label_fields
        self._seen: dict[Hashable, datetime] = {}

    def params(self) -> dict[str, str]:
        """The filters and sort for the current query, in Pacific wall time (§1.3)."""
        query = {f"{self.window_field}Start": format_pacific_filter(self.start)}
        if self.end is not None:
            query[f"{self.window_field}End"] = format_pacific_filter(self.end, round_up=True)
        if self.keyset is not None:
            query[f"{self.sort_field}Start"] = format_pacific_filter(self.keyset)
        sort_by = self.sort_field[0].upper() + self.sort_field[1:]
        return query | {"sortBy": sort_by, "sortDir": "ASC"}

    def admit(self, records: Sequence[Record]) -> list[Record]:
        """The records of this page not already yielded in this scan."""
        fresh = []
        for record in records:
            when = self.sort_date(record)
            key = self._identity(record, when)
            if key not in self._seen:
                self._seen[key] = when
                fresh.append(record)
        return fresh

    def advance(self, records: Sequence[Record]) -> bool:
        """Move the keyset to the page's last sort-date second; ``True`` if the query changed."""
        if not records:
            return False
        last = _floor_second(max(self.sort_date(record) for record in records))
        if (self.keyset is not None and last <= _floor_second(self.keyset)) or is_ambiguous_pacific(last):
            return False
        self.keyset = last
        self._seen = {key: when for key, when in self._seen.items() if when >= last}
        return True

    def sort_date(self, record: Record) -> datetime:
        """The record's sort date as aware UTC; a missing or bad one raises ``RecordError``."""
        return record_date(record, self.sort_field, self._label_fields)


class ModifyDateScan(KeysetScan):
    """:class:`KeysetScan` over ``GET /orders`` by ``modifyDate``; de-duplicated on ``(orderId, modifyDate)``.

    An order edited mid-scan is seen again later with its new ``modifyDate`` (a newer version).
    """

    def __init__(self, start: datetime, end: datetime | None = None) -> None:
        super().__init__(
            start,
            end,
            sort_field="modifyDate",
            identity=lambda record, when: (record.get("orderId"), when),
            label_fields=("orderId", "orderNumber"),
        )


class ShipmentScan(KeysetScan):
    """:class:`KeysetScan` over ``GET /shipments`` by ``createDate``; the window is on ``createDate`` or ``voidDate``.

    De-duplicated on ``shipmentId`` (a label's ``createDate`` never changes). Only ``ShipDate`` and
    ``CreateDate`` sorts exist (§3.1), so a void window is walked in ``createDate`` order too.
    """

    def __init__(self, start: datetime, end: datetime | None = None, *, by: str = "create") -> None:
        if by not in ("create", "void"):
            raise ValueError(f"by must be 'create' or 'void', got {by!r}")
        super().__init__(
            start,
            end,
            sort_field="createDate",
            window_field=f"{by}Date",
            identity=lambda record, when: record.get("shipmentId"),
            label_fields=("shipmentId", "orderNumber"),
        )


def record_date(record: Record, field: str, label_fields: tuple[str, ...]) -> datetime:
    """``record[field]`` (a V1 Pacific timestamp) as aware UTC; a missing or bad one raises ``RecordError``."""
    try:
        return parse_pacific(record.get(field))  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        label = " ".join(f"{name}={record.get(name)}" for name in label_fields)
        raise RecordError(SYSTEM, label, field, str(error)) from None


def modify_date_of(record: Record) -> datetime:
    """An order's ``modifyDate`` as aware UTC; a missing or bad one raises ``RecordError``."""
    return record_date(record, "modifyDate", ("orderId", "orderNumber"))
