"""Pydantic models of ShipStation V2 inventory records (reference §5.2), normalised at the boundary.

- quantities are ``int`` (an integral JSON number such as ``5.0`` is accepted, ``5.5`` is not);
- money is ``Decimal`` in :class:`Money`; currency codes are read as upper-case ISO 4217 and sent
  lower-case, the ShipEngine convention (``"usd"``) — the API's own case is unverified;
- datetimes are aware UTC (V2 speaks ISO-8601 UTC, §5.1); ids are opaque strings;
- unknown keys are ignored; ``average_cost`` that is ``null``, ``{}`` or has no amount is ``None``.

Build records with ``InventoryLevel.from_raw(d)``: a bad field raises
:class:`~connectors.common.errors.RecordError` naming the SKU (or id) and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from connectors.common.errors import RecordError
from connectors.common.money import parse_decimal
from connectors.shipstation.v2_settings import SYSTEM

TransactionType = Literal["increment", "decrement", "adjust", "modify"]
Condition = Literal["sellable", "damaged", "expired", "qa_hold"]


def _count(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, Decimal | float | str):
        number = parse_decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(number)
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _no_money(value: Any) -> Any:
    if isinstance(value, Mapping) and value.get("amount") is None:
        return None
    return value


Count = Annotated[int, BeforeValidator(_count)]
Amount = Annotated[Decimal, BeforeValidator(parse_decimal)]
Currency = Annotated[str, AfterValidator(str.upper)]
Instant = Annotated[datetime, AfterValidator(_utc)]


class V2Model(BaseModel):
    """Shared config: snake_case as the API, unknown keys ignored, strings stripped, immutable."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


class Money(V2Model):
    """An exact amount and its currency (``{"amount": 12.5, "currency": "usd"}``)."""

    amount: Amount
    currency: Currency

    def payload(self) -> dict[str, Any]:
        """JSON-ready form: the amount as a number that round-trips to exactly this ``Decimal``."""
        return {"amount": json_number(self.amount), "currency": self.currency.lower()}


OptionalMoney = Annotated[Money | None, BeforeValidator(_no_money)]


def json_number(value: Decimal) -> int | float:
    """``Decimal`` → an ``int`` or a ``float`` whose shortest repr has the same digits; else ``ValueError``."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be sent as a JSON number without rounding")
    return number


class Record(V2Model):
    """A top-level record; ``from_raw`` names it in errors by ``label_field``."""

    label_field: ClassVar[str] = "sku"

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        """Validate one API record; a bad field raises ``RecordError`` naming the record and field."""
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            label = f"{cls.label_field}={raw.get(cls.label_field)}" if isinstance(raw, Mapping) else "?"
            first = error.errors(include_url=False)[0]
            field = ".".join(str(part) for part in first["loc"]) or "<record>"
            raise RecordError(SYSTEM, label, field, first["msg"]) from None


class InventoryLevel(Record):
    """Stock of one SKU at one inventory location (or warehouse, when grouped)."""

    sku: str
    on_hand: Count
    allocated: Count = 0
    available: Count | None = None
    average_cost: OptionalMoney = None
    inventory_warehouse_id: str | None = None
    inventory_location_id: str | None = None

    @model_validator(mode="after")
    def _fill_available(self) -> Self:
        if self.available is None:  # the docs define it as on_hand minus allocated
            object.__setattr__(self, "available", self.on_hand - self.allocated)
        return self


class InventoryWarehouse(Record):
    label_field: ClassVar[str] = "inventory_warehouse_id"

    inventory_warehouse_id: str
    name: str
    created_at: Instant | None = None
    updated_at: Instant | None = None


class InventoryLocation(Record):
    label_field: ClassVar[str] = "inventory_location_id"

    inventory_location_id: str
    inventory_warehouse_id: str | None = None
    name: str
    barcode: str | None = None
    created_at: Instant | None = None
    updated_at: Instant | None = None


class InventoryTransaction(V2Model):
    """The body of ``POST /v2/inventory``; ``quantity`` is absolute for ``adjust``, a delta otherwise."""

    transaction_type: TransactionType
    sku: Annotated[str, AfterValidator(lambda s: s or _raise("sku must not be empty"))]
    quantity: Annotated[int, AfterValidator(lambda q: q if q >= 0 else _raise("quantity must not be negative"))]
    inventory_location_id: Annotated[str, AfterValidator(lambda s: s or _raise("inventory_location_id is empty"))]
    cost: Money | None = None
    condition: Condition | None = None
    lot: str | None = None
    usable_start_date: Instant | None = None
    usable_end_date: Instant | None = None
    effective_at: Instant | None = None
    reason: str | None = None
    notes: str | None = None
    new_inventory_location_id: str | None = None
    new_cost: Money | None = None
    new_condition: Condition | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> Self:
        changes = (self.new_inventory_location_id, self.new_cost, self.new_condition)
        if self.transaction_type == "modify" and all(change is None for change in changes):
            raise ValueError("modify needs new_inventory_location_id, new_cost or new_condition")
        if self.transaction_type != "modify" and any(change is not None for change in changes):
            raise ValueError("new_* fields only apply to modify")
        if self.quantity == 0 and self.transaction_type != "adjust":
            raise ValueError(f"{self.transaction_type} needs a quantity of at least 1")
        return self

    def payload(self) -> dict[str, Any]:
        """The JSON body: ``None`` fields left out, money as numbers, datetimes as ISO-8601 UTC ``Z``."""
        body: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Money):
                value = value.payload()
            elif isinstance(value, datetime):
                value = value.isoformat().replace("+00:00", "Z")
            if value is not None:
                body[name] = value
        return body


def _raise(message: str) -> Any:
    raise ValueError(message)
