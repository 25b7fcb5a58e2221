"""Pydantic models of V1 shipments, i.e. labels (reference §3.1, §8.2), normalised like ``models.py``.

A shipment row is one label: an order may own many (multi-package, partial shipments, §6.5), and a
void only sets ``voided``/``voidDate`` on the existing row (§6.4). ``shipmentItems`` is ``null``
unless the list was asked for with ``includeShipmentItems=true``, so :attr:`Shipment.items` keeps
that difference: ``None`` means "not requested", ``[]`` means "a label with no lines".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, computed_field

from connectors.shipstation.models import (
    Address,
    Amount,
    AmountOrZero,
    Dimensions,
    Instant,
    OptionalAmount,
    OptionalInstant,
    Quantity,
    RawRecord,
    ShipStationModel,
    Weight,
)
from connectors.shipstation.timezones import parse_pacific_date


def _false_if_null(value: Any) -> Any:
    return False if value is None else value


def _object(value: Any) -> Any:
    return {} if value is None else value


CalendarDate = Annotated[date, BeforeValidator(lambda v: parse_pacific_date(v) if isinstance(v, str) else v)]
Flag = Annotated[bool, BeforeValidator(_false_if_null)]


class ShipmentItem(ShipStationModel):
    """One line of a label: the ``OrderItem`` subset §3.1 lists; quantities are per label, not per order."""

    order_item_id: int | None = None
    line_item_key: str | None = None
    sku: str | None = None
    name: str | None = None
    quantity: Quantity
    unit_price: Amount
    tax_amount: OptionalAmount = None
    shipping_amount: OptionalAmount = None
    weight: Weight | None = None
    warehouse_location: str | None = None
    product_id: int | None = None
    fulfillment_sku: str | None = None
    adjustment: Flag = False
    upc: str | None = None
    create_date: OptionalInstant = None
    modify_date: OptionalInstant = None


class ShipmentAdvancedOptions(ShipStationModel):
    """The ``advancedOptions`` subset shipments carry; it varies, so every field is optional (§8.2)."""

    store_id: int | None = None
    bill_to_party: str | None = None
    bill_to_account: str | None = None
    bill_to_postal_code: str | None = None
    bill_to_country_code: str | None = None


class Shipment(RawRecord):
    """A V1 shipment (label, §3.1). Money is ``Decimal``; ``create_date``/``void_date`` are aware UTC.

    ``ship_date`` is a calendar date as ShipStation shows it (Pacific). ``shipment_cost`` is
    required: a label whose cost is unknown must not be booked as free. A null ``insuranceCost``
    reads as zero (no insurance bought). ``order_id`` may be ``None`` for labels made without an
    order (``/shipments/createlabel``) [assumption].
    """

    id_fields: ClassVar[tuple[str, ...]] = ("shipmentId", "orderNumber")

    shipment_id: int
    order_id: int | None = None
    order_key: str | None = None
    order_number: str | None = None
    user_id: str | None = None
    customer_email: str | None = None
    create_date: Instant
    ship_date: CalendarDate
    void_date: OptionalInstant = None
    voided: Flag = False
    shipment_cost: Amount
    insurance_cost: AmountOrZero = Decimal(0)
    tracking_number: str | None = None
    is_return_label: Flag = False
    batch_number: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    package_code: str | None = None
    confirmation: str | None = None
    warehouse_id: int | None = None
    marketplace_notified: bool | None = None
    notify_error_message: str | None = None
    ship_to: Address | None = None
    weight: Weight | None = None
    dimensions: Dimensions | None = None
    advanced_options: Annotated[ShipmentAdvancedOptions, BeforeValidator(_object)] = ShipmentAdvancedOptions()
    items: list[ShipmentItem] | None = Field(default=None, alias="shipmentItems")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def store_id(self) -> int | None:
        """``advancedOptions.storeId``, when the API sent it."""
        return self.advanced_options.store_id
