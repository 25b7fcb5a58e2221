"""connectors.common.jsonwire: exact Decimals in JSON request bodies."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.common import jsonwire


def test_decimals_keep_every_digit_and_plain_notation():
    body = {"total": Decimal("0.10"), "lines": [Decimal("-19.990"), (Decimal("1E+2"), Decimal("1E-7"))], "n": 3}
    text = jsonwire.dumps(body)
    assert text == b'{"total":0.10,"lines":[-19.990,[100,0.0000001]],"n":3}'
    assert json.loads(text, parse_float=Decimal)["total"] == Decimal("0.10")


def test_a_string_that_looks_like_the_marker_stays_a_string():
    sneaky = "\u0000dec:5"
    body = {"note": sneaky, "amount": Decimal("5")}
    assert json.loads(jsonwire.dumps(body)) == {"note": sneaky, "amount": 5}


def test_unicode_is_sent_as_utf8_and_mappings_as_objects():
    text = jsonwire.dumps({"name": "Chai ☕", "inner": MappingProxyType({"q": Decimal("2.5")})})
    assert text == '{"name":"Chai ☕","inner":{"q":2.5}}'.encode()


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        jsonwire.dumps({"amount": bad})


def test_unknown_types_need_a_default():
    with pytest.raises(TypeError, match="date"):
        jsonwire.dumps({"day": date(2026, 3, 1)})
    assert jsonwire.dumps({"day": date(2026, 3, 1)}, default=date.isoformat) == b'{"day":"2026-03-01"}'


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_finite_decimal_round_trips_exactly(value):
    decoded = json.loads(jsonwire.dumps([value]), parse_float=Decimal, parse_int=Decimal)[0]
    assert decoded == value


def test_separators_as_for_json_dumps():
    assert jsonwire.dumps({"a": [Decimal("1.0"), 2]}, separators=(", ", ": ")) == b'{"a": [1.0, 2]}'
