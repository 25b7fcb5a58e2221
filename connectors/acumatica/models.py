"""Acumatica records as typed models (reference §7), read from plain (unwrapped) records.

Normalised: aware UTC datetimes, ``Decimal`` money and quantities, stripped strings, status labels
whether the endpoint sends v4 strings or v5 ``{"id", "description"}`` objects. Each model keeps the
plain record it came from in ``raw``. A record that does not parse raises ``RecordError`` naming it
and the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError

from connectors.acumatica import codec
from connectors.acumatica.settings import SYSTEM
from connectors.common.errors import RecordError


def _instant(value: Any) -> Any:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        # Acumatica sends offsets (DateTimeValue, §4); an offset-free value is the server's UTC.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def _day(value: Any) -> Any:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _text(value: Any) -> Any:
    value = codec.label(value) if isinstance(value, dict) else value
    return value.strip() if isinstance(value, str) else value


Instant = Annotated[datetime | None, BeforeValidator(_instant)]
Day = Annotated[date | None, BeforeValidator(_day)]
Text = Annotated[str | None, BeforeValidator(_text)]
Amount = Decimal | None


class AcumaticaModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    id_fields: ClassVar[tuple[str, ...]] = ()
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        return self._raw

    @classmethod
    def from_raw(cls, record: dict[str, Any]):
        """Parse one plain record; ``RecordError`` names the record and the first bad field."""
        try:
            model = cls.model_validate(record)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            ident = ", ".join(f"{k}={record.get(k)!r}" for k in cls.id_fields) or "record"
            raise RecordError(f"{cls.__name__} {ident}: {where}: {first['msg']}", system=SYSTEM) from None
        model._raw = record
        return model


class Address(AcumaticaModel):
    line1: Text = Field(None, alias="AddressLine1")
    line2: Text = Field(None, alias="AddressLine2")
    city: Text = Field(None, alias="City")
    state: Text = Field(None, alias="State")
    postal_code: Text = Field(None, alias="PostalCode")
    country: Text = Field(None, alias="Country")


class Contact(AcumaticaModel):
    attention: Text = Field(None, alias="Attention")
    business_name: Text = Field(None, alias="BusinessName")
    email: Text = Field(None, alias="Email")
    phone: Text = Field(None, alias="Phone1")


class SalesOrderLine(AcumaticaModel):
    line_nbr: int = Field(alias="LineNbr")
    inventory_id: Text = Field(None, alias="InventoryID")
    description: Text = Field(None, alias="LineDescription")
    quantity: Decimal = Field(Decimal(0), alias="OrderQty")
    open_quantity: Amount = Field(None, alias="OpenQty")
    uom: Text = Field(None, alias="UOM")
    unit_price: Decimal = Field(Decimal(0), alias="UnitPrice")
    amount: Amount = Field(None, alias="Amount")
    warehouse_id: Text = Field(None, alias="WarehouseID")


class Totals(AcumaticaModel):
    freight: Amount = Field(None, alias="Freight")
    unpaid_balance: Amount = Field(None, alias="UnpaidBalance")


class Payment(AcumaticaModel):
    applied: Amount = Field(None, alias="AppliedToOrder")
    status: Text = Field(None, alias="Status")


class SalesOrder(AcumaticaModel):
    id_fields = ("OrderType", "OrderNbr")

    note_id: str | None = Field(None, alias="id")
    order_type: str = Field(alias="OrderType")
    order_nbr: str = Field(alias="OrderNbr")
    status: Text = Field(None, alias="Status")
    hold: bool | None = Field(None, alias="Hold")
    date: Instant = Field(None, alias="Date")
    customer_id: Text = Field(None, alias="CustomerID")
    customer_order: Text = Field(None, alias="CustomerOrder")
    description: Text = Field(None, alias="Description")
    currency_id: Text = Field(None, alias="CurrencyID")
    base_currency_id: Text = Field(None, alias="BaseCurrencyID")
    payment_method: Text = Field(None, alias="PaymentMethod")
    order_total: Decimal = Field(Decimal(0), alias="OrderTotal")
    tax_total: Amount = Field(None, alias="TaxTotal")
    ship_via: Text = Field(None, alias="ShipVia")
    warehouse_id: Text = Field(None, alias="PreferredWarehouseID")
    ship_to: Address = Field(Address(), alias="ShipToAddress")
    ship_to_contact: Contact = Field(Contact(), alias="ShipToContact")
    bill_to: Address = Field(Address(), alias="BillToAddress")
    bill_to_contact: Contact = Field(Contact(), alias="BillToContact")
    lines: list[SalesOrderLine] = Field(default_factory=list, alias="Details")
    totals: Totals = Field(Totals(), alias="Totals")
    payments: list[Payment] = Field(default_factory=list, alias="Payments")
    last_modified: Instant = Field(None, alias="LastModified")

    @property
    def key(self) -> tuple[str, str]:
        return self.order_type, self.order_nbr


class StockItem(AcumaticaModel):
    id_fields = ("InventoryID",)

    inventory_id: str = Field(alias="InventoryID")
    description: Text = Field(None, alias="Description")
    status: Text = Field(None, alias="ItemStatus")
    weight: Amount = Field(None, alias="DimensionWeight")
    weight_uom: Text = Field(None, alias="WeightUOM")
    default_price: Amount = Field(None, alias="DefaultPrice")
    last_modified: Instant = Field(None, alias="LastModified")


class Customer(AcumaticaModel):
    id_fields = ("CustomerID",)

    customer_id: str = Field(alias="CustomerID")
    name: Text = Field(None, alias="CustomerName")
    status: Text = Field(None, alias="Status")
    email: Text = Field(None, alias="Email")
    currency_id: Text = Field(None, alias="CurrencyID")
    last_modified: Instant = Field(None, alias="LastModifiedDateTime")


class ShipmentPackage(AcumaticaModel):
    tracking_nbr: Text = Field(None, alias="TrackingNbr")
    reference: Text = Field(None, alias="CustomRefNbr1")
    weight: Amount = Field(None, alias="Weight")


class Shipment(AcumaticaModel):
    id_fields = ("ShipmentNbr",)

    shipment_nbr: str = Field(alias="ShipmentNbr")
    status: Text = Field(None, alias="Status")
    shipment_date: Day = Field(None, alias="ShipmentDate")
    customer_id: Text = Field(None, alias="CustomerID")
    ship_via: Text = Field(None, alias="ShipVia")
    freight_cost: Amount = Field(None, alias="FreightCost")
    packages: list[ShipmentPackage] = Field(default_factory=list, alias="Packages")
    last_modified: Instant = Field(None, alias="LastModifiedDateTime")
