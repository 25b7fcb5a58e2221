"""The simulator's clock: wall time plus an offset the control plane can advance.

Token expiry, rate-limit buckets, feed processing and order dates all read one `Clock`, so a test
moves the whole sandbox forward (`POST /__sandbox/clock/advance`) instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta


class Clock:
    """Aware UTC time = `base()` + offset; `base` defaults to the wall clock (tests may fix it)."""

    def __init__(self, base: Callable[[], datetime] | None = None) -> None:
        self._base = base or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @classmethod
    def starting_at(cls, start: datetime) -> Clock:
        """A clock that reads `start` now and then ticks with real time (a seeded merchant's "today")."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        origin = time.monotonic()
        return cls(lambda: start + timedelta(seconds=time.monotonic() - origin))

    def now(self) -> datetime:
        """The current simulated time."""
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds` (never backward); the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    @property
    def offset_seconds(self) -> float:
        """How far the clock was advanced in total."""
        return self._offset.total_seconds()


def epoch_ms(value: datetime) -> int:
    """Aware datetime → epoch milliseconds (Walmart's order timestamps)."""
    return int(value.timestamp() * 1000)


def from_epoch_ms(value: int) -> datetime:
    """Epoch milliseconds → aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, UTC)


def iso_z(value: datetime) -> str:
    """`2019-02-21T01:01:08.000Z`, the returns API's timestamp format."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_filter_date(raw: str) -> datetime:
    """A filter date: `yyyy-MM-dd` or an ISO-8601 timestamp (Z, +00:00 or +0000; none = UTC).

    Raises ValueError for anything else (epoch numbers included: the docs name only these forms).
    """
    text = raw.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = datetime.fromisoformat(text)
    if "T" not in raw:
        raise ValueError("timestamps need a T between date and time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
