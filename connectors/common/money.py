"""Money as ``Decimal``, never ``float``.

JSON bodies are decoded with ``parse_float=Decimal`` (see :func:`connectors.common.http.decode_json`)
so ``12.5`` arrives as ``Decimal("12.5")`` exactly as the API wrote it. A ``float`` that slips in
anyway is converted through its shortest ``repr`` — the digits the JSON text had — not through its
binary value (``Decimal(0.1)`` would be ``0.1000000000000000055…``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from connectors.common.errors import RecordError

CENT = Decimal("0.01")


def parse_decimal(value: Any) -> Decimal:
    """Turn a JSON number or numeric string into a finite ``Decimal``; raise ``ValueError`` otherwise."""
    # the common kinds first (every amount of every record comes through here); bool is an int, refused below
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(f"expected a number, got {value!r}")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)  # always finite
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def to_money(value: Any, *, field: str, record: str | int | None, system: str = "connector") -> Decimal:
    """Parse ``value`` as an exact amount; a bad value raises ``RecordError`` naming record and field."""
    try:
        return parse_decimal(value)
    except ValueError as error:
        raise RecordError(system, record, field, str(error)) from None


def quantize_money(value: Decimal, places: int = 2) -> Decimal:
    """Round to ``places`` decimals, halves away from zero (``2.345 → 2.35``, ``-2.345 → -2.35``)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Money:
    """An exact amount in an ISO-4217 currency. ShipStation V1 orders carry no currency (§2.2):
    the caller supplies it from store or company configuration."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", parse_decimal(self.amount))
        code = self.currency.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"not an ISO-4217 currency code: {self.currency!r}")
        object.__setattr__(self, "currency", code)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def quantized(self, places: int = 2) -> Money:
        """This amount rounded half-up to ``places`` decimals."""
        return Money(quantize_money(self.amount, places), self.currency)
