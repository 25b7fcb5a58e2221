"""Fast paths of Tally's scalar parsers agree with the general path on every input, errors included."""

from __future__ import annotations

from decimal import Decimal

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
