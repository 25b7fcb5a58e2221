"""The cheaper Pacific -> UTC conversion and the cached timestamp parse give what the plain ones gave."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.shipstation.timezones import PACIFIC, pacific_to_utc, parse_pacific

_LOW, _HIGH = datetime.min + timedelta(days=2), datetime.max - timedelta(days=2)


def plain_pacific_to_utc(value: datetime) -> datetime:
    """The conversion as it was written before (the reference the fast path must match)."""
    if not _LOW <= value.replace(tzinfo=None) <= _HIGH:
        raise ValueError("out of range")
    if value.tzinfo is None:
        value = value.replace(tzinfo=PACIFIC, fold=0)
    return value.astimezone(UTC)


def plain_parse(text: str) -> datetime:
    return plain_pacific_to_utc(datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.strip())))


# the DST days of a few years, where the offsets change, and anything else in range
_TRANSITIONS = st.sampled_from([datetime(2024, 3, 10), datetime(2024, 11, 3), datetime(2026, 3, 8),
                                datetime(2026, 11, 1), datetime(1970, 4, 26), datetime(2037, 11, 1)])
_NEAR_DST = st.builds(lambda day, minutes, fold: (day + timedelta(minutes=minutes)).replace(fold=fold),
                      _TRANSITIONS, st.integers(0, 4 * 60), st.integers(0, 1))
_ANY = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), allow_imaginary=True)


@given(st.one_of(_NEAR_DST, _ANY))
def test_naive_pacific_converts_as_the_plain_conversion(value: datetime) -> None:
    try:
        expected = plain_pacific_to_utc(value)
    except ValueError:
        with pytest.raises(ValueError):
            pacific_to_utc(value)
        return
    got = pacific_to_utc(value)
    assert got == expected and got.tzinfo is UTC and got.utcoffset() == timedelta(0)
    assert (got.year, got.month, got.day, got.hour, got.minute, got.microsecond) == \
           (expected.year, expected.month, expected.day, expected.hour, expected.minute, expected.microsecond)


@given(st.one_of(_NEAR_DST, _ANY), st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), PACIFIC]))
def test_aware_values_convert_as_before(value: datetime, zone) -> None:
    aware = value.replace(tzinfo=zone)
    try:
        expected = plain_pacific_to_utc(aware)
    except (ValueError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            pacific_to_utc(aware)
        return
    assert pacific_to_utc(aware) == expected


@given(_NEAR_DST, st.integers(0, 9), st.sampled_from(["T", " "]), st.sampled_from(["", "Z", "+05:30"]))
def test_parse_pacific_matches_the_plain_parse_with_any_fraction(value: datetime, digits: int, sep: str,
                                                                 offset: str) -> None:
    text = value.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + ("." + "1234567890"[:digits] if digits else "") + offset
    first, again = parse_pacific(text), parse_pacific(f" {text} ")
    assert first == again == plain_parse(text)
    assert parse_pacific(text) is first  # the second parse of a text is the cached one


def test_a_bad_timestamp_raises_every_time_it_is_parsed() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="not a ShipStation timestamp"):
            parse_pacific("2026-02-30T10:00:00")
    with pytest.raises(ValueError, match="out of range"):
        parse_pacific("9999-12-31T10:00:00")


# Texts near the accepted forms: timestamps with any fraction and offset, surrounded by blanks or cut, with
# a stray comma, letter or digit: the fast path (fromisoformat first) must agree with the plain parse on
# each, value for value, or raise the same error.
_PIECES = st.sampled_from(["2026-11-01", "2026-03-08T02:30:00", "1970-01-01 00:00:00", "9999-12-31T23:59:59",
                           "0001-01-01", "2024-02-29T10:15", "20260206T041559", ".", ",", ":", "+05:30", "-08:00",
                           "Z", "T", " ", "\t", "1234567", "0", "+05:30:00.1234567", "x", "٣"])
_SHAPED = st.tuples(st.sampled_from(["", " ", "\t", "\u3000"]),
                    st.sampled_from(["2026-11-01", "2026-03-08", "9999-12-31", "0001-01-01", "20260206"]),
                    st.sampled_from(["", "T", " ", "x"]),
                    st.sampled_from(["", "01:30", "02:30:00", "013000", "23:59:59"]),
                    st.sampled_from(["", ".", ","]), st.text(alphabet="0123456789", max_size=9),
                    st.sampled_from(["", "Z", "+05:30", "-08:00", "+05:30:00.1234567", "+0530"]),
                    st.sampled_from(["", " ", "\n"])).map("".join)
_NEAR_TEXT = st.one_of(_SHAPED, st.lists(_PIECES, min_size=1, max_size=5).map("".join))


@given(st.one_of(_NEAR_TEXT, st.text(alphabet="0123456789-:T .,+Z", max_size=40)))
def test_any_text_parses_as_the_plain_parse_or_fails_alike(text: str) -> None:
    try:
        expected = plain_parse(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as caught:
            parse_pacific(text)
        assert ("out of range" in str(caught.value)) == ("out of range" in str(exc))
        return
    got = parse_pacific(text)
    assert got == expected and type(got) is datetime and got.tzinfo is UTC


def test_the_usual_texts_give_plain_utc_datetimes() -> None:
    for text in ("2026-02-06T04:15:59.9890000", "2026-02-06T04:15:59.989", "2026-02-06"):
        got = parse_pacific(text)
        assert type(got) is datetime and got.tzinfo is UTC and got == plain_parse(text)
    assert parse_pacific("2026-02-06T04:15:59.9999999") == datetime(2026, 2, 6, 12, 15, 59, 999999, tzinfo=UTC)
