"""Time zones at the connector boundary: everything inside the project is aware UTC.

A system's own local-time rules live in its connector (ShipStation V1's Pacific wall time is in
``connectors/shipstation/timezones.py``); only the generic helpers are here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` if it carries a UTC offset; raise ``ValueError`` for naive datetimes."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def to_utc(value: datetime, name: str = "datetime") -> datetime:
    """Convert an aware datetime to UTC; naive ones are refused."""
    return require_aware(value, name).astimezone(UTC)


def local_date(value: datetime, tz_name: str) -> date:
    """The calendar date of an aware instant in ``tz_name`` (e.g. vouchers dated in ``Asia/Kolkata``)."""
    return to_utc(value).astimezone(ZoneInfo(tz_name)).date()


def start_of_local_day(day: date, tz_name: str) -> datetime:
    """Midnight of ``day`` in ``tz_name``, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz_name)).astimezone(UTC)
