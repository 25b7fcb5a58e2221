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


def reference_parse_decimal(value: object) -> Decimal:
    """The rules as first written (one isinstance ladder): what the reordered fast path must still give."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and value.strip():
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


class _Text(str):
    pass


_ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                       st.decimals(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                       st.from_regex(r"\s*[-+]?\d{0,6}(\.\d{0,4})?([eE][-+]?\d{1,3})?\s*", fullmatch=True),
                       st.sampled_from(["NaN", "-inf", "sNaN", " Infinity ", "1_000", "\u00a012\u2003", "٣"]),
                       st.text(max_size=5).map(_Text), st.lists(st.integers(), max_size=2))


def _outcome(parse: object, value: object) -> tuple[str, str]:
    try:
        result = parse(value)  # type: ignore[operator]
    except ValueError as exc:
        return "refused", str(exc)
    return type(result).__name__, str(result)


@given(_ANY_VALUE)
def test_parse_decimal_gives_what_the_first_rules_gave(value: object) -> None:
    assert _outcome(parse_decimal, value) == _outcome(reference_parse_decimal, value)
