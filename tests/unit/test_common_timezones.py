"""Pacific ⇄ UTC at the ShipStation boundary (reference §1.3) and local dates for Tally vouchers."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.common.timezones import local_date, require_aware, start_of_local_day
from connectors.shipstation.timezones import (
    format_pacific_filter,
    is_ambiguous_pacific,
    parse_pacific,
    parse_pacific_date,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-08-17T09:24:14.7800000", utc(2015, 8, 17, 16, 24, 14, 780000)),  # 7 digits, PDT
        ("2015-08-17T09:24:14.7800009", utc(2015, 8, 17, 16, 24, 14, 780000)),  # 7th digit truncated
        ("2015-07-16T14:00:34.823", utc(2015, 7, 16, 21, 0, 34, 823000)),  # item dates: 3 digits
        ("2015-07-16T14:00:34", utc(2015, 7, 16, 21, 0, 34)),
        ("2015-07-02", utc(2015, 7, 2, 7, 0)),  # date only = midnight Pacific
        ("2024-01-15T10:00:00.0000000", utc(2024, 1, 15, 18, 0)),  # PST
        ("2024-01-15 10:00:00", utc(2024, 1, 15, 18, 0)),  # filter format parses too
        ("  2024-01-15T10:00:00  ", utc(2024, 1, 15, 18, 0)),
        ("2024-01-15T10:00:00Z", utc(2024, 1, 15, 10, 0)),  # an explicit offset wins
        ("2024-01-15T10:00:00+05:30", utc(2024, 1, 15, 4, 30)),
    ],
)
def test_parse_pacific(text: str, expected: datetime) -> None:
    parsed = parse_pacific(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-10T01:59:59", utc(2024, 3, 10, 9, 59, 59)),  # last PST second
        ("2024-03-10T03:00:00", utc(2024, 3, 10, 10, 0)),  # first PDT second
        ("2024-03-10T02:30:00", utc(2024, 3, 10, 10, 30)),  # never happened: read with PST (fold=0)
    ],
)
def test_spring_forward(text: str, expected: datetime) -> None:
    assert parse_pacific(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-03T00:59:59", utc(2024, 11, 3, 7, 59, 59)),
        ("2024-11-03T01:30:00", utc(2024, 11, 3, 8, 30)),  # happened twice: first one (PDT, fold=0)
        ("2024-11-03T02:00:00", utc(2024, 11, 3, 10, 0)),  # PST
    ],
)
def test_fall_back(text: str, expected: datetime) -> None:
    assert parse_pacific(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "2024-11-03T25:00:00", "11/03/2024"])
def test_parse_pacific_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_pacific(text)


def test_parse_pacific_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        parse_pacific(None)  # type: ignore[arg-type]


def test_parse_pacific_date() -> None:
    assert parse_pacific_date("2015-07-02") == date(2015, 7, 2)
    assert parse_pacific_date("2015-07-02T00:00:00.0000000") == date(2015, 7, 2)
    with pytest.raises(ValueError):
        parse_pacific_date("02/07/2015")


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2016, 11, 30, 7, 59, 59), "2016-11-29 23:59:59"),  # the doc's example, PST
        (utc(2024, 7, 1, 19, 0, 30, 999999), "2024-07-01 12:00:30"),  # PDT; fraction floored
        (utc(2024, 3, 10, 9, 59, 59), "2024-03-10 01:59:59"),  # spring forward: PST …
        (utc(2024, 3, 10, 10, 0, 0), "2024-03-10 03:00:00"),  # … then PDT, 02:xx skipped
        (utc(2024, 11, 3, 8, 30), "2024-11-03 01:30:00"),  # fall back: PDT pass …
        (utc(2024, 11, 3, 9, 30), "2024-11-03 01:30:00"),  # … and PST pass print the same
        (utc(2024, 11, 3, 10, 0), "2024-11-03 02:00:00"),
    ],
)
def test_format_pacific_filter(instant: datetime, expected: str) -> None:
    assert format_pacific_filter(instant) == expected


def test_format_pacific_filter_accepts_any_offset() -> None:
    from zoneinfo import ZoneInfo

    kolkata = datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert format_pacific_filter(kolkata) == "2026-03-31 20:30:00"


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        format_pacific_filter(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(naive, "Asia/Kolkata")
    with pytest.raises(ValueError, match="timezone-aware"):
        require_aware(naive, "cursor")


def test_late_pacific_evening_is_the_next_day_in_india() -> None:
    """An order placed 2026-03-31 20:30 Pacific belongs to FY 2026-27 in Tally (1 April, Asia/Kolkata)."""
    placed = parse_pacific("2026-03-31T20:30:00.0000000")
    assert placed == utc(2026, 4, 1, 3, 30)
    assert local_date(placed, "Asia/Kolkata") == date(2026, 4, 1)
    assert local_date(placed, "America/Los_Angeles") == date(2026, 3, 31)


def test_start_of_local_day() -> None:
    assert start_of_local_day(date(2026, 4, 1), "Asia/Kolkata") == utc(2026, 3, 31, 18, 30)


def test_is_ambiguous_pacific() -> None:
    assert is_ambiguous_pacific(utc(2024, 11, 3, 8, 30))
    assert is_ambiguous_pacific(utc(2024, 11, 3, 9, 30))
    assert not is_ambiguous_pacific(utc(2024, 11, 3, 10, 0))
    assert not is_ambiguous_pacific(utc(2024, 3, 10, 10, 30))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)))
def test_filter_round_trips_outside_the_fall_back_hour(instant: datetime) -> None:
    back = parse_pacific(format_pacific_filter(instant))
    if is_ambiguous_pacific(instant):
        assert back in (instant.replace(microsecond=0), instant.replace(microsecond=0) - timedelta(hours=1))
    else:
        assert back == instant.replace(microsecond=0)


def test_end_filter_rounds_up_so_the_same_second_stays_inside_the_window():
    from datetime import UTC, datetime

    from connectors.shipstation.timezones import format_pacific_filter

    end = datetime(2026, 11, 22, 6, 6, 4, 494526, tzinfo=UTC)  # 22:06:04.49 PST
    assert format_pacific_filter(end) == "2026-11-21 22:06:04"
    assert format_pacific_filter(end, round_up=True) == "2026-11-21 22:06:05"
    whole = end.replace(microsecond=0)
    assert format_pacific_filter(whole, round_up=True) == "2026-11-21 22:06:04"
