"""Pydantic models of ShipStation V1 records (reference §2.2, §3.3, §3.4), normalised at the boundary.

- field names are snake_case; the API's camelCase names are aliases (either is accepted);
- datetimes are aware UTC, read from the API's offset-less Pacific strings (§1.3);
- money is ``Decimal`` (decode JSON with ``parse_float=Decimal`` to keep every digit);
- strings are stripped; ``None`` stays ``None``; JSON ``null`` lists become ``[]``;
- unknown keys are ignored (``labelMessages`` appears in some responses, §8.1).

Build top-level records with ``Order.from_raw(d)`` (also ``Product`` / ``Customer``): a field that does
not parse raises :class:`~connectors.common.errors.RecordError` naming the record and the field, and
the untouched dict stays available as ``.raw`` (not part of ``model_dump``) for staging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PrivateAttr, ValidationError
from pydantic.alias_generators import to_camel

from connectors.common.errors import RecordError
from connectors.common.money import parse_decimal
from connectors.shipstation.settings import SYSTEM
from connectors.shipstation.timezones import pacific_text_to_utc, pacific_to_utc, parse_pacific, parse_pacific_date


def _instant(value: Any) -> Any:
    if type(value) is str:  # the common case, straight to the cached parse
        return pacific_text_to_utc(value)
    if isinstance(value, str):
        return parse_pacific(value)
    if isinstance(value, datetime):
        return pacific_to_utc(value)
    return value


# One Python call per optional field where there were two (a wrapper, then the parse): an order has ~18
# optional amounts and timestamps. A timestamp text goes straight to the cached parse.
def _optional_instant(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is str:
        return pacific_text_to_utc(value) if value else None
    return None if value == "" else _instant(value)


def _optional_date(value: Any) -> Any:
    if value is None or value == "":
        return None
    return parse_pacific_date(value) if isinstance(value, str) else value


def _list(value: Any) -> Any:
    return [] if value is None else value


def _object(value: Any) -> Any:
    return {} if value is None else value


# Found by the fuzzer: an amount like 1E+30 parsed, then broke Decimal arithmetic (28 digits) deep in
# the mapping with no field named. No real order or label comes near these bounds.
MAX_AMOUNT = Decimal(10) ** 12
MAX_QUANTITY = 10**9


def _bounded(value: Decimal | None) -> Decimal | None:
    if value is not None and not -MAX_AMOUNT < value < MAX_AMOUNT:
        raise ValueError(f"amount {value} is out of range (at most {MAX_AMOUNT:,} either way)")
    return value


def _bounded_quantity(value: int) -> int:
    if not -MAX_QUANTITY < value < MAX_QUANTITY:
        raise ValueError(f"quantity {value} is out of range (at most {MAX_QUANTITY:,} either way)")
    return value


# An amount is read and bounded in the one call before the core's Decimal check (which passes the finite
# Decimal parse_decimal gives): an after-validator for the bound was one more Python call for each of an
# order's ~15 amounts. The error is the same one: a value error naming the field, with the value sent.
def _amount(value: Any) -> Decimal:
    return _bounded(parse_decimal(value))  # type: ignore[return-value]


def _optional_amount(value: Any) -> Decimal | None:
    return None if value is None or value == "" else _bounded(parse_decimal(value))


def _amount_or_zero(value: Any) -> Decimal:
    return Decimal(0) if value is None else _bounded(parse_decimal(value))  # type: ignore[return-value]


Amount = Annotated[Decimal, BeforeValidator(_amount)]
OptionalAmount = Annotated[Decimal | None, BeforeValidator(_optional_amount)]
# The V1 model types these header amounts as numbers; a null one means "none charged" (assumption).
AmountOrZero = Annotated[Decimal, BeforeValidator(_amount_or_zero)]
Quantity = Annotated[int, AfterValidator(_bounded_quantity)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
OptionalInstant = Annotated[datetime | None, BeforeValidator(_optional_instant)]
OptionalDate = Annotated[date | None, BeforeValidator(_optional_date)]

T = TypeVar("T")
R = TypeVar("R", bound="RawRecord")


class ShipStationModel(BaseModel):
    """Shared config: camelCase aliases, unknown keys ignored, strings stripped, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        frozen=True,
    )


class RawRecord(ShipStationModel):
    """A top-level record that remembers the dict it was parsed from."""

    id_fields: ClassVar[tuple[str, ...]] = ()
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        """The record exactly as the API sent it (camelCase keys, ``Decimal`` numbers)."""
        return self._raw

    @classmethod
    def record_label(cls, raw: Mapping[str, Any]) -> str:
        """``orderId=1 orderNumber=X``: how errors name this record."""
        return " ".join(f"{key}={raw.get(key)}" for key in cls.id_fields) if isinstance(raw, Mapping) else "?"

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        """Validate one API record; a bad field raises ``RecordError`` naming the record and field."""
        try:
            record = cls.model_validate(raw)
        except ValidationError as error:
            raise _record_error(cls.record_label(raw), error) from None
        record.__pydantic_private__["_raw"] = dict(raw)  # type: ignore[index]
        return record

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # pydantic gives a model with private attributes a generic initialiser, which the core calls after each
        # validation (`model_post_init`): it loops over them, asks each for its default and, in a subclass, runs
        # twice over (wrapped). `_raw` is the only one here, so it is set directly: Order.from_raw 293,836 ->
        # 282,662 instructions (callgrind, 300 sandbox orders). A subclass with a post-init or private
        # attribute of its own keeps pydantic's.
        super().__pydantic_init_subclass__(**kwargs)
        if set(cls.__private_attributes__) == {"_raw"} and cls.model_post_init.__name__ in _GENERIC_INITS:
            cls.model_post_init = _init_raw  # type: ignore[method-assign]


# pydantic's own, and pydantic's wrapping ours in a further subclass (it names the wrapper after what it wraps)
_GENERIC_INITS = ("init_private_attributes", "_init_raw")


def _init_raw(self: RawRecord, context: Any, /) -> None:
    """pydantic's `init_private_attributes` for `RawRecord`'s one private attribute: `_raw`, a new `{}`."""
    if getattr(self, "__pydantic_private__", None) is None:
        object.__setattr__(self, "__pydantic_private__", {"_raw": {}})


def _record_error(label: str, error: ValidationError) -> RecordError:
    problems = error.errors(include_url=False)
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"]) or "<record>"
    message = first["msg"]
    got = first.get("input")
    if got is None or isinstance(got, str | int | Decimal | float | bool):
        message += f" (got {str(got)[:60]!r})"
    if len(problems) > 1:
        message += f" (+{len(problems) - 1} more problems)"
    return RecordError(SYSTEM, label, field, message)


class Address(ShipStationModel):
    name: str | None = None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    street3: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    residential: bool | None = None
    address_verified: str | None = None


class Weight(ShipStationModel):
    value: OptionalAmount = None
    units: str | None = None


class Dimensions(ShipStationModel):
    units: str | None = None
    length: OptionalAmount = None
    width: OptionalAmount = None
    height: OptionalAmount = None


class ItemOption(ShipStationModel):
    name: str | None = None
    value: str | None = None


class OrderItem(ShipStationModel):
    order_item_id: int | None = None
    line_item_key: str | None = None
    sku: str | None = None
    name: str
    image_url: str | None = None
    weight: Weight | None = None
    quantity: Quantity
    unit_price: Amount
    tax_amount: OptionalAmount = None
    shipping_amount: OptionalAmount = None
    warehouse_location: str | None = None
    options: Annotated[list[ItemOption], BeforeValidator(_list)] = []
    product_id: int | None = None
    fulfillment_sku: str | None = None
    adjustment: bool = False  # §2.2: true = discount/promo line, usually negative unit_price
    upc: str | None = None
    create_date: OptionalInstant = None
    modify_date: OptionalInstant = None


class AdvancedOptions(ShipStationModel):
    warehouse_id: int | None = None
    non_machinable: bool | None = None
    saturday_delivery: bool | None = None
    contains_alcohol: bool | None = None
    store_id: int | None = None
    custom_field1: str | None = None
    custom_field2: str | None = None
    custom_field3: str | None = None
    source: str | None = None
    merged_or_split: bool = False
    merged_ids: Annotated[list[int], BeforeValidator(_list)] = []
    parent_id: int | None = None
    bill_to_party: str | None = None


class Order(RawRecord):
    """A V1 order (§2.2). No currency field exists: take it from store or company config."""

    id_fields: ClassVar[tuple[str, ...]] = ("orderId", "orderNumber")

    order_id: int
    order_number: str
    order_key: str | None = None
    order_date: OptionalInstant = None
    create_date: Instant
    modify_date: Instant
    payment_date: OptionalInstant = None
    ship_by_date: OptionalInstant = None
    ship_date: OptionalDate = None
    hold_until_date: OptionalDate = None
    order_status: str
    customer_id: int | None = None
    customer_username: str | None = None
    customer_email: str | None = None
    bill_to: Address | None = None
    ship_to: Address | None = None
    items: Annotated[list[OrderItem], BeforeValidator(_list)] = []
    order_total: Amount
    amount_paid: AmountOrZero = Decimal(0)
    tax_amount: AmountOrZero = Decimal(0)
    shipping_amount: AmountOrZero = Decimal(0)
    customer_notes: str | None = None
    internal_notes: str | None = None
    gift: bool | None = None
    gift_message: str | None = None
    payment_method: str | None = None
    requested_shipping_service: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    package_code: str | None = None
    confirmation: str | None = None
    weight: Weight | None = None
    dimensions: Dimensions | None = None
    advanced_options: Annotated[AdvancedOptions, BeforeValidator(_object)] = AdvancedOptions()
    tag_ids: Annotated[list[int], BeforeValidator(_list)] = []
    user_id: str | None = None
    externally_fulfilled: bool | None = None
    externally_fulfilled_by: str | None = None


class Tag(ShipStationModel):
    tag_id: int | None = None
    name: str | None = None


class ProductCategory(ShipStationModel):
    category_id: int | None = None
    name: str | None = None


class Product(RawRecord):
    """A V1 product (§3.4); dimensions are in the UI's unit, unconverted."""

    id_fields: ClassVar[tuple[str, ...]] = ("productId", "sku")

    product_id: int
    sku: str | None = None
    name: str | None = None
    price: OptionalAmount = None
    default_cost: OptionalAmount = None
    length: OptionalAmount = None
    width: OptionalAmount = None
    height: OptionalAmount = None
    weight_oz: OptionalAmount = None
    internal_notes: str | None = None
    fulfillment_sku: str | None = None
    upc: str | None = None
    create_date: OptionalInstant = None
    modify_date: OptionalInstant = None
    active: bool | None = None
    product_category: ProductCategory | None = None
    warehouse_location: str | None = None
    customs_description: str | None = None
    customs_value: OptionalAmount = None
    customs_tariff_no: str | None = None
    customs_country_code: str | None = None
    no_customs: bool | None = None
    tags: Annotated[list[Tag], BeforeValidator(_list)] = []


class MarketplaceUsername(ShipStationModel):
    customer_user_id: int | None = None
    customer_id: int | None = None
    create_date: OptionalInstant = None
    modify_date: OptionalInstant = None
    marketplace_id: int | None = None
    marketplace: str | None = None
    username: str | None = None


class Customer(RawRecord):
    """A V1 customer (§3.3); created implicitly from orders that carry ``customerUsername``."""

    id_fields: ClassVar[tuple[str, ...]] = ("customerId", "email")

    customer_id: int
    create_date: OptionalInstant = None
    modify_date: OptionalInstant = None
    name: str | None = None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    email: str | None = None
    address_verified: str | None = None
    marketplace_usernames: Annotated[list[MarketplaceUsername], BeforeValidator(_list)] = []
    tags: Annotated[list[Tag], BeforeValidator(_list)] = []


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a V1 list envelope ``{"<resource>": [...], "total", "page", "pages"}`` (§1.4)."""

    items: list[T]
    total: int
    page: int
    pages: int


def parse_page(envelope: Mapping[str, Any], items_key: str, model: type[R]) -> Page[R]:
    """Parse a list envelope into typed records; the first bad record raises ``RecordError``."""
    raw_items = envelope.get(items_key) or []
    return Page(
        items=[model.from_raw(item) for item in raw_items],
        total=int(envelope.get("total") or 0),
        page=int(envelope.get("page") or 0),
        pages=int(envelope.get("pages") or 0),
    )
