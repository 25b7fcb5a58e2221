"""Fast paths of Tally's scalar parsers agree with the general path on every input, errors included."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.tally import xml_values

NUMBERISH = st.lists(st.sampled_from(list("0123456789-.,() =₹$@/ \t\n१٣²") + ["(-)", "Nos"]), max_size=8).map("".join)


def outcome(fn, text):
    try:
        return ("ok", fn(text))
    except ValueError as exc:
        return ("error", str(exc))


def general_int(text: str | None) -> int | None:
    value = xml_values._parse_number(text)
    return None if value is None else int(value)


@settings(max_examples=2000, deadline=None)
@given(text=NUMBERISH | st.text(max_size=6) | st.none())
@example(" 441")
@example("-500.00")
@example("007")
@example("१२")
@example("12\n")
@example("")
def test_parsers_agree_with_the_general_path(text: str | None) -> None:
    fast, general = outcome(xml_values.parse_decimal, text), outcome(xml_values._parse_number, text)
    assert fast == general
    if fast[0] == "ok" and isinstance(fast[1], Decimal):
        assert str(fast[1]) == str(general[1])  # the same digits and exponent, not only an equal value
    assert outcome(xml_values.parse_int, text) == outcome(general_int, text)


def reference_amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def reference_plain(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def reference_rate(value: Decimal, unit: str) -> str:
    number = reference_amount(value) if value == value.quantize(Decimal("0.01")) else reference_plain(value)
    return f"{number}/{unit}"


def raised(fn, *args) -> object:
    try:
        return fn(*args)
    except InvalidOperation as exc:
        return type(exc)


DECIMALS = (st.decimals(allow_nan=True, allow_infinity=True) | st.decimals(places=2) | st.decimals(places=1)
            | st.integers(-10**30, 10**30).map(Decimal)
            | st.builds(Decimal, st.sampled_from(["-0.00", "0.00", "1E+2", "1.00E+2", "12345678901234567.89", "0",
                                                 "-0", "20", "007", "123456789012345678901234567.89", "-1.5E-7",
                                                 "12345678901234567890123456789", "0E-2", "5.000", "33.333"])))


@settings(max_examples=3000, deadline=None)
@given(value=DECIMALS)
def test_amounts_quantities_and_rates_are_written_as_the_general_path_writes_them(value: Decimal) -> None:
    assert raised(xml_values.fmt_amount, value) == raised(reference_amount, value)
    assert raised(xml_values.fmt_quantity, value, "Nos") == raised(lambda v: f" {reference_plain(v)} Nos", value)
    assert raised(xml_values.fmt_rate, value, "Nos") == raised(reference_rate, value, "Nos")


@settings(max_examples=1000, deadline=None)
@given(day=st.dates())
@example(date(5, 1, 1))
@example(date(999, 12, 31))
@example(date(1000, 1, 1))
def test_dates_are_written_as_strftime_writes_them(day: date) -> None:
    assert xml_values.fmt_date(day) == day.strftime("%Y%m%d")
