"""Generic pieces of the daily reconciliation snapshots: business days and windows, a day's rows. No I/O.

`day` is the business date in the books' time zone of a record. A source is read with a window one
hour wider on each side than the local day, and only the records whose own day is the partition's are
kept (`Snapshot.put`), so a record lands in exactly one day. A pack's readers (e.g.
pipelines/shipstation_tally/recon/snapshots.py) turn each system's records into rows of its tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connectors.common.timezones import local_date

if TYPE_CHECKING:
    import pandas as pd

Row = dict[str, Any]
WINDOW_MARGIN = timedelta(hours=1)


# --- days ----------------------------------------------------------------------------------------
def business_day(instant: datetime, tz_name: str) -> date:
    """The calendar date of an aware instant in the books' time zone."""
    return local_date(instant, tz_name)


def day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """`[start, end)` of `day` in `tz_name`, as aware UTC instants."""
    zone = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def fetch_window(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """The instants to ask a source for, to be sure of every record of `day` (filtered by day afterwards)."""
    start, end = day_bounds(day, tz_name)
    return start - WINDOW_MARGIN, end + WINDOW_MARGIN


def range_window(first: date, last: date, tz_name: str) -> tuple[datetime, datetime]:
    """`fetch_window` over consecutive days `first..last`: one scan instead of one per day."""
    return fetch_window(first, tz_name)[0], fetch_window(last, tz_name)[1]


def partition_day(key: str) -> date:
    """A daily partition key (`2026-04-01`) as a date."""
    return date.fromisoformat(key)


# --- a day's rows ------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """Rows of one day: records, their lines, records that did not parse, and how many fell on other days."""

    day: date
    rows: dict[Any, Row] = field(default_factory=dict)
    lines: dict[Any, list[Row]] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    other_days: int = 0

    def put(self, key: Any, row: Row, lines: list[Row]) -> None:
        """Add a record (a record met twice, e.g. across pages, keeps its last version)."""
        if row["day"] != self.day:
            self.other_days += 1
            return
        self.rows[key], self.lines[key] = row, lines

    def frames(self, table: str, lines_table: str) -> dict[str, pd.DataFrame]:
        return {table: frame(self.rows.values()), lines_table: frame(r for rs in self.lines.values() for r in rs)}

    @property
    def line_count(self) -> int:
        return sum(len(rs) for rs in self.lines.values())


class RangeSnapshot:
    """Snapshots of consecutive days filled from one scan: each record goes to the day it belongs to."""

    def __init__(self, days: list[date]) -> None:
        self.by_day = {day: Snapshot(day) for day in days}
        self.day = days[0]  # where a record with no date of its own is put (as a one-day snapshot does)
        self.problems: list[dict[str, str]] = []
        self.other_days = 0

    def put(self, key: Any, row: Row, lines: list[Row]) -> None:
        target = self.by_day.get(row["day"])
        if target is None:
            self.other_days += 1
        else:
            target.put(key, row, lines)


def frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Rows as a DataFrame of Python objects: Decimals, aware datetimes and None survive untouched."""
    import pandas as pd  # lazily: the order sync's process never loads pandas

    return pd.DataFrame(list(rows), dtype=object)
