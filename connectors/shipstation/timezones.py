"""ShipStation V1 time: Pacific wall time with no offset, converted to and from aware UTC at the boundary.

ShipStation V1 speaks Pacific local time with no offset, in both directions (reference §1.3):
responses look like ``2015-08-17T09:24:14.7800000`` (7 fractional digits), ``2015-07-16T14:00:34.823``
or ``2015-07-02``; filters must be sent as ``yyyy-mm-dd hh:mm:ss`` Pacific.

DST: a naive Pacific time in the fall-back hour (01:00–01:59 on the first Sunday of November) happens
twice; we read it as the first occurrence (``fold=0``, still PDT). A naive time in the spring-forward
gap (02:00–02:59 on the second Sunday of March) never happened; ``fold=0`` reads it with the offset in
force before the jump (PST), i.e. one hour later on the wall clock. Either way the mistake is at most
an hour, which is why polling windows overlap by at least an hour (§6.2).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from connectors.common.timezones import to_utc

PACIFIC = ZoneInfo("America/Los_Angeles")
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"

_FRACTION = re.compile(r"(\.\d{6})\d+")


_EARLIEST = datetime.min + timedelta(days=2)
_LATEST = datetime.max - timedelta(days=2)


def pacific_to_utc(value: datetime) -> datetime:
    """Read a naive datetime as Pacific wall time (``fold=0``) and return it in UTC; aware ones just convert."""
    # Found by the fuzzer: 9999-12-31 (or 0001-01-01) overflowed here, or later in another time zone,
    # as an OverflowError no validator names. A day's margin keeps every zone's local date representable.
    naive = value.tzinfo is None
    if not _EARLIEST <= (value if naive else value.replace(tzinfo=None)) <= _LATEST:
        raise ValueError(f"timestamp {value.isoformat()} is out of range")
    if naive:  # what value.replace(tzinfo=PACIFIC, fold=0).astimezone(UTC) gives, for a third of its cost
        wall = value.replace(fold=0) if value.fold else value
        utc = wall - PACIFIC.utcoffset(wall)
        # datetime.replace is slow on 3.11 (~1.3 us, three times combine's); a subclass keeps its type through replace
        return datetime.combine(utc, utc.time(), UTC) if type(utc) is datetime else utc.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_pacific(text: str) -> datetime:
    """Parse a ShipStation V1 timestamp (naive = Pacific) into an aware UTC datetime.

    Accepts 0–7+ fractional digits (beyond 6 are truncated: they are 100 ns ticks), a ``T`` or space
    separator, date-only values (midnight Pacific, as §1.3 says for ``refreshDate``), and values that
    do carry an offset or ``Z`` (honoured as given).
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    return pacific_text_to_utc(text)


# An order says the same instants several times (order, payment and item dates; each page's orders
# share minutes), and parsing one was half the cost of reading an order. Datetimes are immutable,
# so a parsed one is shared safely; a text that does not parse raises every time (nothing cached).
@lru_cache(maxsize=8192)
def pacific_text_to_utc(text: str) -> datetime:
    """:func:`parse_pacific` for a value already known to be a ``str`` (what the models call: one call less)."""
    try:  # Python 3.11's fromisoformat truncates a fraction beyond 6 digits itself: the usual text needs no regex
        parsed = datetime.fromisoformat(text)
    except ValueError:  # surrounding blanks, or not a timestamp at all
        parsed = _parse_loose(text)
    return pacific_to_utc(parsed)


def _parse_loose(text: str) -> datetime:
    cleaned = text.strip()
    if _FRACTION.search(cleaned):
        cleaned = _FRACTION.sub(_six_digits, cleaned)
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"not a ShipStation timestamp: {text!r}") from None


def _six_digits(match: re.Match[str]) -> str:
    return match.group(1)


def parse_pacific_date(text: str) -> date:
    """Parse a date-only Pacific value (``2015-07-02``; a time part, if any, is ignored)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    head = text.strip()[:10]
    try:
        return date.fromisoformat(head)
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None


def format_pacific_filter(value: datetime, *, round_up: bool = False) -> str:
    """Format an aware datetime as a V1 filter value: Pacific wall time ``yyyy-mm-dd hh:mm:ss``.

    Filters have whole seconds. A start bound is floored, so it never skips the instant it names;
    an end bound (``round_up=True``) is raised to the next whole second, so a record modified later
    in the same second as the end is still inside the window.
    """
    utc = to_utc(value)
    if round_up and utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return utc.astimezone(PACIFIC).strftime(FILTER_FORMAT)


def is_ambiguous_pacific(value: datetime) -> bool:
    """True if ``value``'s Pacific wall time occurs twice (the fall-back hour), so a filter string is ambiguous."""
    wall = to_utc(value).astimezone(PACIFIC).replace(tzinfo=None)
    return wall.replace(tzinfo=PACIFIC, fold=0).utcoffset() != wall.replace(tzinfo=PACIFIC, fold=1).utcoffset()
