"""ShipStation V1 wall-clock time: America/Los_Angeles, written without an offset.

Responses carry naive Pacific local time (reference §1.3): order headers, customers and
warehouses with 7 fractional digits (.NET ticks), order items and products with 3, `shipDate`
date-only. Filters arrive as naive Pacific local time too.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")

# `yyyy-mm-dd`, `yyyy-mm-dd hh:mm[:ss[.f…]]` and the same with `T`; no offset, no basic format.
_FILTER_FORM = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?")
# Payload dates may also carry an offset (`Z`, `+05:30`), which is then honoured.
_PAYLOAD_FORM = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


def _local(value: datetime) -> datetime:
    return value.astimezone(PACIFIC)


# Small caches: within one order the header, payment and item dates are mostly the same instants.
@lru_cache(maxsize=1024)
def ticks7(value: datetime | None) -> str | None:
    """Aware datetime → `2015-08-17T09:24:14.7800000` (Pacific, 7 fractional digits)."""
    if value is None:
        return None
    return _local(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "0"


@lru_cache(maxsize=1024)
def millis3(value: datetime | None) -> str | None:
    """Aware datetime → `2015-07-16T14:00:34.823` (Pacific, 3 fractional digits)."""
    if value is None:
        return None
    return _local(value).replace(tzinfo=None).isoformat(timespec="milliseconds")


def date_only(value: date | None) -> str | None:
    """A `shipDate` → `2015-07-02`."""
    return None if value is None else value.isoformat()


def _from_pacific_text(text: str) -> datetime:
    # fromisoformat keeps at most 6 fractional digits; a 7th digit (100 ns) is dropped.
    text = re.sub(r"(\.\d{6})\d", r"\1", text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        # fold=0: an ambiguous fall-back hour is read as its first (PDT) occurrence.
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed.astimezone(UTC)


def parse_filter(text: str) -> datetime:
    """Parse a list-filter value (`2016-11-29 23:59:59`) as Pacific time; ValueError if malformed."""
    text = text.strip()
    if not _FILTER_FORM.fullmatch(text):
        raise ValueError(f"not a yyyy-mm-dd hh:mm:ss date: {text!r}")
    return _from_pacific_text(text)


def parse_payload(text: str) -> datetime:
    """Parse a datetime sent in a request body: naive = Pacific, an explicit offset is honoured."""
    text = text.strip()
    if not _PAYLOAD_FORM.fullmatch(text):
        raise ValueError(f"not a date: {text!r}")
    return _from_pacific_text(text)


def parse_ship_date(text: str) -> date:
    """Parse a `shipDate` (date, or datetime whose Pacific date is taken)."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    return parse_payload(text).astimezone(PACIFIC).date()
