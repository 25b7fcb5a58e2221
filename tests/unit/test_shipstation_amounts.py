"""ShipStation amounts are read and bounded in one validator call: the same value, or the same error (type,
field, message and the value sent), as reading with `parse_decimal` and bounding after the core's Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError

from connectors.common.money import parse_decimal
from connectors.shipstation import models
from connectors.shipstation.models import MAX_AMOUNT


def _optional(value: Any) -> Any:
    return None if value is None or value == "" else parse_decimal(value)


def _or_zero(value: Any) -> Any:
    return Decimal(0) if value is None else parse_decimal(value)


class Before(BaseModel):  # the annotations as they were: a before-validator, the core's Decimal, an after-validator
    amount: Annotated[Decimal, BeforeValidator(parse_decimal), AfterValidator(models._bounded)]
    optional: Annotated[Decimal | None, BeforeValidator(_optional), AfterValidator(models._bounded)] = None
    or_zero: Annotated[Decimal, BeforeValidator(_or_zero), AfterValidator(models._bounded)] = Decimal(0)


class Now(BaseModel):
    amount: models.Amount
    optional: models.OptionalAmount = None
    or_zero: models.AmountOrZero = Decimal(0)


values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.just(""), st.text(max_size=8),
    st.floats(), st.decimals(), st.sampled_from([MAX_AMOUNT, -MAX_AMOUNT, MAX_AMOUNT - Decimal("0.01"), "1E+12",
                                                 "-999999999999.99", " 12.50 ", "NaN", "sNaN", "-0", "1e-30"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str), st.lists(st.integers(), max_size=1))


def outcome(model: type[BaseModel], data: dict[str, Any]) -> tuple:
    try:
        made = model.model_validate(data)
    except ValidationError as exc:
        return ("error", [(e["type"], e["loc"], e["msg"], repr(e["input"])) for e in exc.errors(include_url=False)])
    return ("ok", repr(made.amount), repr(made.optional), repr(made.or_zero))


@given(amount=values, optional=values, or_zero=values)
def test_amounts_read_as_before(amount: Any, optional: Any, or_zero: Any) -> None:
    data = {"amount": amount, "optional": optional, "or_zero": or_zero}
    assert outcome(Now, data) == outcome(Before, data)


def test_the_bound_names_the_field_and_the_value_sent() -> None:
    result = outcome(Now, {"amount": "1E+12"})
    assert result[0] == "error" and result[1][0][:3] == (
        "value_error", ("amount",), "Value error, amount 1E+12 is out of range (at most 1,000,000,000,000 either way)")
    assert result == outcome(Before, {"amount": "1E+12"})
