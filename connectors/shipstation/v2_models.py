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


# -- shipping: tracking, shipments (V1 orders), labels (V1 shipments), carriers (§5.2, §5.3) ----------

# §5.3 status_code values, normalised. The V2 OpenAPI copy types `status_code` with the detail-code
# enum (its example is COLLECTION_FAILED), so a detail code in either field is read through DETAIL_STATUS.
TrackingStatus = Literal["unknown", "not_yet_in_system", "accepted", "in_transit", "delivery_attempt", "delivered",
                         "delivered_to_service_point", "exception"]
STATUS_CODES: dict[str, TrackingStatus] = {
    "UN": "unknown", "NY": "not_yet_in_system", "AC": "accepted", "IT": "in_transit", "AT": "delivery_attempt",
    "DE": "delivered", "SP": "delivered_to_service_point", "EX": "exception",
}
_DETAIL_PREFIXES: tuple[tuple[str, TrackingStatus], ...] = (
    ("DELIVERED_TO_LOCKER", "delivered_to_service_point"), ("PARCEL_COLLECTED_FROM_PICKUP", "delivered"),
    ("DELIVERED", "delivered"), ("PROOF_OF_DELIVERY", "delivered"), ("ATTEMPTED_DELIVERY", "delivery_attempt"),
    ("CUSTOMER_CARDED", "delivery_attempt"), ("NOT_YET_RECEIVED", "not_yet_in_system"),
    ("AWAITING_DESPATCH", "not_yet_in_system"), ("AWAITING_ELECTRONIC", "not_yet_in_system"),
    ("ELEC_ADVICE", "not_yet_in_system"), ("COLLECTION_REQUESTED", "not_yet_in_system"),
    ("RECEIVED_BY_CARRIER", "accepted"), ("RECD_BY_CARRIER", "accepted"), ("COLLECTION_MADE", "accepted"),
    ("DESPATCHED", "accepted"), ("IN_TRANSIT", "in_transit"), ("OUT_FOR_DELIVERY", "in_transit"),
    ("HUB_SCAN", "in_transit"), ("CUSTOMS", "in_transit"), ("RECEIVED_LOCAL", "in_transit"),
    ("SUB_CONTRACTOR", "in_transit"), ("CARRIER_STATUS_NOT_MAPPED", "unknown"), ("INFORMATION", "unknown"),
    ("PARCEL_UPDATE", "unknown"),
)
_EXCEPTION_DETAILS = ("CANCELLED", "COLLECTION_FAILED", "CUSTOMER_MOVED", "HAZARDOUS", "NOT_COLLECTED", "NOT_DELIVERED",
                      "PARCEL_DAMAGED", "PARCEL_DISPOSED", "PARCEL_LOST", "PARCEL_OUTSIDE", "REFUSED", "RETURN_TO",
                      "ADDRESS_QUERY", "HELD_BY", "MISSORTED", "ROUTING_ERROR", "INCORRECT", "COD_AMOUNT",
                      "INVALID_METHOD", "NO_ACCESS", "CUSTOMER_IDENTIFICATION", "CARRIER_DELAYS", "DELAYED")
# Statuses that only a carrier scan can produce: the carrier has the parcel.
SCANNED: frozenset[str] = frozenset({"accepted", "in_transit", "delivery_attempt", "delivered",
                                     "delivered_to_service_point"})


def normalise_tracking(status_code: str | None, detail_code: str | None = None) -> TrackingStatus:
    """A V2 `status_code` (two letters) or detail code as one of :data:`TrackingStatus`; unknown codes → unknown."""
    for code in (status_code, detail_code):
        text = (code or "").strip().upper()
        if text in STATUS_CODES:
            return STATUS_CODES[text]
        if len(text) > 2:
            for prefix, status in _DETAIL_PREFIXES:
                if text.startswith(prefix):
                    return status
            if text.startswith(_EXCEPTION_DETAILS):
                return "exception"
    return "unknown"


def _utc_text(value: Any) -> Any:
    # V2 speaks ISO-8601 UTC; the docs' own webhook example prints `2026-04-30T00:00:00` without an offset.
    return value.replace(" ", "T") if isinstance(value, str) else value


OptionalAmount = Annotated[Decimal | None, BeforeValidator(lambda v: None if v is None else parse_decimal(v))]
OptionalInstant = Annotated[Instant | None, BeforeValidator(lambda v: None if v in (None, "") else _utc_text(v))]


class TrackingEvent(V2Model):
    """One carrier scan or status change of a label."""

    occurred_at: OptionalInstant = None
    carrier_occurred_at: str | None = None  # the carrier's local wall time, kept as sent
    description: str | None = None
    city_locality: str | None = None
    state_province: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    event_code: str | None = None
    status_code: str | None = None
    status_detail_code: str | None = None
    carrier_status_code: str | None = None
    carrier_status_description: str | None = None

    @property
    def status(self) -> TrackingStatus:
        """This event's normalised status."""
        return normalise_tracking(self.status_code, self.status_detail_code)


class LabelTracking(Record):
    """``GET /v2/labels/{label_id}/track`` (or a TRACK webhook's ``data``), with ``status`` normalised."""

    label_field: ClassVar[str] = "tracking_number"

    tracking_number: str | None = None
    tracking_url: str | None = None
    status_code: str | None = None
    status_detail_code: str | None = None
    status_description: str | None = None
    carrier_code: str | None = None
    carrier_status_code: str | None = None
    carrier_status_description: str | None = None
    ship_date: OptionalInstant = None
    estimated_delivery_date: OptionalInstant = None
    actual_delivery_date: OptionalInstant = None
    exception_description: str | None = None
    events: Annotated[list[TrackingEvent], BeforeValidator(lambda v: v or [])] = []

    @property
    def status(self) -> TrackingStatus:
        """The label's normalised status: accepted, in_transit, delivered, exception, …"""
        return normalise_tracking(self.status_code, self.status_detail_code)

    @property
    def carrier_has_parcel(self) -> bool:
        """True once any scan shows the carrier holding the parcel (the first-scan fulfilment rule)."""
        return self.status in SCANNED or any(event.status in SCANNED for event in self.events)


class Address(V2Model):
    name: str | None = None
    company_name: str | None = None
    phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city_locality: str | None = None
    state_province: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


class ShipmentItem(V2Model):
    sku: str | None = None
    name: str | None = None
    quantity: Count = 0
    unit_price: OptionalAmount = None
    external_order_item_id: str | None = None


class Shipment(Record):
    """A V2 shipment (= a V1 order, §0): ``external_shipment_id`` is the V1 ``orderKey``."""

    label_field: ClassVar[str] = "shipment_id"

    shipment_id: str
    external_shipment_id: str | None = None
    external_order_id: str | None = None
    shipment_number: str | None = None
    shipment_status: str
    created_at: Instant
    modified_at: Instant
    ship_date: OptionalInstant = None
    store_id: str | None = None
    warehouse_id: str | None = None
    carrier_id: str | None = None
    service_code: str | None = None
    ship_to: Address | None = None
    items: Annotated[list[ShipmentItem], BeforeValidator(lambda v: v or [])] = []
    amount_paid: OptionalMoney = None
    shipping_paid: OptionalMoney = None
    tax_paid: OptionalMoney = None


class Label(Record):
    """A V2 label (= a V1 shipment, §0)."""

    label_field: ClassVar[str] = "label_id"

    label_id: str
    status: str | None = None
    shipment_id: str | None = None
    external_shipment_id: str | None = None
    tracking_number: str | None = None
    carrier_id: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    ship_date: OptionalInstant = None
    created_at: OptionalInstant = None
    shipment_cost: OptionalMoney = None
    insurance_cost: OptionalMoney = None
    voided: bool = False
    voided_at: OptionalInstant = None
    tracking_status: str | None = None  # the label's coarse status: unknown|in_transit|error|delivered


class CarrierService(V2Model):
    service_code: str
    name: str | None = None
    domestic: bool | None = None
    international: bool | None = None


class Carrier(Record):
    """A carrier account connected to ShipStation, with its services."""

    label_field: ClassVar[str] = "carrier_id"

    carrier_id: str
    carrier_code: str
    account_number: str | None = None
    nickname: str | None = None
    friendly_name: str | None = None
    primary: bool | None = None
    balance: OptionalAmount = None
    services: Annotated[list[CarrierService], BeforeValidator(lambda v: v or [])] = []
