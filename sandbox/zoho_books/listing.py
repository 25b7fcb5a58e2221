"""List endpoints' query rules (reference §4): string and date filter variants, sorting, paging.

- String filters: `<f>` (exact), `<f>_startswith`, `<f>_contains`; case-insensitive (assumed).
- Dates: `<f>`, `<f>_start`, `<f>_end` (inclusive), `<f>_before`, `<f>_after` (exclusive), `yyyy-mm-dd`.
- `last_modified_time=<yyyy-MM-ddTHH:mm:ss+hhmm>`: records modified at or after it (a `+` sent
  unencoded arrives as a space and is refused, as a server parsing the format would).
- `page` (default 1), `per_page` (default 200, max 200; larger is cut to 200, assumed);
  `page_context.has_more_page` says whether another page exists.
- `sort_column` among the endpoint's allowed columns, `sort_order` A or D; anything else is 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sandbox.zoho_books.errors import invalid

Record = dict[str, Any]
Query = Mapping[str, str]
MAX_PER_PAGE = 200


def _int(query: Query, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name) from None
    if value < 1:
        raise invalid(name)
    return value


def parse_time(raw: str, name: str = "last_modified_time") -> datetime:
    """A Zoho timestamp (`2026-04-03T17:30:00+0530`, colon in the offset allowed); 400 otherwise."""
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        raise invalid(name) from None


def parse_date(raw: Any, name: str) -> date:
    """A `yyyy-mm-dd` date; 400 naming `name` otherwise."""
    try:
        return datetime.strptime(str(raw), "%Y-%m-%d").date()
    except ValueError:
        raise invalid(name) from None


def text(rows: Iterable[Record], query: Query, base: str, values: Callable[[Record], Iterable[Any]]) -> list[Record]:
    """Apply `base`, `base_startswith`, `base_contains` when given."""
    out = list(rows)
    tests = {base: str.__eq__, f"{base}_startswith": str.startswith, f"{base}_contains": str.__contains__}
    for name, test in tests.items():
        if name in query:
            wanted = query[name].lower()
            out = [r for r in out if any(test(str(v).lower(), wanted) for v in values(r) if v is not None)]
    return out


def dates(rows: Iterable[Record], query: Query, base: str, field: str | None = None) -> list[Record]:
    """Apply the date filter variants of `base` to the record field `field` (default `base`)."""
    field = field or base
    out = list(rows)
    tests: dict[str, Callable[[date, date], bool]] = {
        base: date.__eq__, f"{base}_start": date.__ge__, f"{base}_end": date.__le__,
        f"{base}_after": date.__gt__, f"{base}_before": date.__lt__}
    for name, test in tests.items():
        if name in query:
            bound = parse_date(query[name], name)
            out = [r for r in out if r.get(field) and test(date.fromisoformat(r[field][:10]), bound)]
    return out


def modified_since(rows: Iterable[Record], query: Query) -> list[Record]:
    """Records whose `last_modified_time` is at or after the query's, when given."""
    out = list(rows)
    if "last_modified_time" in query:
        since = parse_time(query["last_modified_time"])
        out = [r for r in out if parse_time(r["last_modified_time"]) >= since]
    return out


def page(key: str, id_field: str, rows: list[Record], query: Query, *, sortable: tuple[str, ...], default: str,
         default_order: str = "D", shape: Callable[[Record], Record] = dict) -> Record:
    """Sort, cut one page out and wrap it as `{code, message, <key>: [...], page_context}`."""
    column = query.get("sort_column", default)
    order = query.get("sort_order", default_order)
    if column not in (*sortable, default) or order not in ("A", "D"):
        raise invalid("sort_column" if column not in (*sortable, default) else "sort_order")
    ordered = sorted(rows, key=lambda r: (_sort_key(r.get(column)), int(r[id_field])),
                     reverse=order == "D")
    number, size = _int(query, "page", 1), min(_int(query, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    chunk = ordered[(number - 1) * size: number * size]
    context = {"page": number, "per_page": size, "has_more_page": number * size < len(ordered),
               "report_name": key.capitalize(), "applied_filter": query.get("filter_by", "Status.All"),
               "sort_column": column, "sort_order": order}
    return {"code": 0, "message": "success", key: [shape(r) for r in chunk], "page_context": context}


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (2, value)
