"""Money stays Decimal from the JSON text to the voucher."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.common.errors import RecordError
from connectors.common.http import decode_json
from connectors.common.money import Money, parse_decimal, quantize_money, to_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.5"), Decimal("12.5")),
        ("12.50", Decimal("12.50")),
        (" -3.75 ", Decimal("-3.75")),
        (7, Decimal(7)),
        (0.1, Decimal("0.1")),  # via repr, not the binary 0.1000000000000000055…
        (41.55, Decimal("41.55")),
    ],
)
def test_to_money_accepts_numbers_and_numeric_strings(value: object, expected: Decimal) -> None:
    assert to_money(value, field="unitPrice", record=1) == expected


@pytest.mark.parametrize("value", [None, True, "", "abc", "NaN", "Infinity", [], {}])
def test_to_money_names_record_and_field(value: object) -> None:
    with pytest.raises(RecordError) as caught:
        to_money(value, field="orderTotal", record="orderId=5", system="shipstation")
    error = caught.value
    assert (error.system, error.record_id, error.field) == ("shipstation", "orderId=5", "orderTotal")
    assert "orderTotal" in str(error) and "orderId=5" in str(error)


def test_decode_json_keeps_every_digit() -> None:
    body = decode_json(b'{"unitPrice": 12.5, "discount": -3.75, "total": 41.55, "qty": 3, "big": 0.1}')
    assert body == {
        "unitPrice": Decimal("12.5"),
        "discount": Decimal("-3.75"),
        "total": Decimal("41.55"),
        "qty": 3,
        "big": Decimal("0.1"),
    }
    assert isinstance(body["qty"], int)
    assert 3 * body["unitPrice"] + body["discount"] + Decimal("4.75") + Decimal("3.05") == body["total"]


def test_decode_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        decode_json('{"x": NaN}')


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.345", "2.35"), ("-2.345", "-2.35"), ("2.344", "2.34"), ("0.005", "0.01"), ("10", "10.00")],
)
def test_quantize_money_rounds_half_up(value: str, expected: str) -> None:
    assert str(quantize_money(Decimal(value))) == expected


def test_money_value() -> None:
    total = Money(Decimal("37.50"), "usd") + Money(Decimal("-3.75"), "USD")
    assert total == Money(Decimal("33.75"), "USD")
    assert (-total).amount == Decimal("-33.75")
    assert Money("1.005", "INR").quantized() == Money(Decimal("1.01"), "INR")
    with pytest.raises(ValueError):
        Money(Decimal(1), "USD") + Money(Decimal(1), "INR")
    with pytest.raises(ValueError):
        Money(Decimal(1), "dollars")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9))
def test_parse_decimal_round_trips_json_text(value: Decimal) -> None:
    assert parse_decimal(decode_json(f"[{value}]")[0]) == value
