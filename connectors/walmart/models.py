"""Pydantic records of Walmart orders and returns (reference §7, §8), normalised at the boundary.

Money is ``Decimal`` (bodies are decoded with ``parse_float=Decimal``; Walmart sends quantities as
strings), datetimes are aware UTC (Walmart sends epoch milliseconds, or ISO-8601 with an offset),
strings are stripped. ``Order.from_raw`` / ``ReturnOrder.from_raw`` raise
:class:`~connectors.common.errors.RecordError` naming the record and the field; ``.raw`` keeps the
untouched dict for staging and replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr

from connectors.common.errors import RecordError
from connectors.common.money import parse_decimal
from connectors.walmart.settings import SYSTEM

CANCELLED = "Cancelled"
MAX_AMOUNT = Decimal(10) ** 12
REFUND_COMPLETED = "REFUND_COMPLETED"


def parse_instant(value: Any) -> datetime | None:
    """Epoch milliseconds (number or digits) or ISO-8601 -> aware UTC; ``None`` for blank."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | Decimal | float) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    else:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    return moment.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    """An aware datetime as the ISO-8601 UTC filter value Walmart accepts (§7)."""
    if moment.tzinfo is None:
        raise ValueError("filter datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class WalmartModel(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True, extra="ignore")


class Charge(WalmartModel):
    """One ``charges.charge[]`` entry: PRODUCT or SHIPPING, with its tax."""

    charge_type: str
    charge_name: str = ""
    amount: Decimal
    currency: str = "USD"
    tax_name: str = ""
    tax: Decimal = Decimal(0)


class LineStatus(WalmartModel):
    status: str
    quantity: Decimal
    cancellation_reason: str = ""


class OrderLine(WalmartModel):
    line_number: str
    sku: str
    product_name: str = ""
    quantity: Decimal
    charges: tuple[Charge, ...] = ()
    statuses: tuple[LineStatus, ...] = ()
    status_date: datetime | None = None

    def charged(self, charge_type: str) -> Decimal:
        return sum((c.amount for c in self.charges if c.charge_type.upper() == charge_type), Decimal(0))

    @property
    def product_amount(self) -> Decimal:
        return self.charged("PRODUCT")

    @property
    def shipping_amount(self) -> Decimal:
        return self.charged("SHIPPING")

    @property
    def tax_amount(self) -> Decimal:
        return sum((c.tax for c in self.charges), Decimal(0))

    @property
    def cancelled_quantity(self) -> Decimal:
        return sum((s.quantity for s in self.statuses if s.status == CANCELLED), Decimal(0))

    @property
    def is_cancelled(self) -> bool:
        """Every unit of the line is cancelled (a line is never partly invoiced: §7 cancels whole lines)."""
        return bool(self.statuses) and all(s.status == CANCELLED for s in self.statuses)


class ShipNode(WalmartModel):
    id: str = ""
    name: str = ""
    type: str = ""


class Order(WalmartModel):
    purchase_order_id: str
    customer_order_id: str = ""
    customer_email: str = ""
    customer_name: str = ""
    order_date: datetime
    ship_node: ShipNode = ShipNode()
    currency: str = "USD"
    lines: tuple[OrderLine, ...] = ()
    _raw: dict = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict:
        return self._raw

    @property
    def last_change(self) -> datetime:
        """The latest line status date, else the order date: what the polling window advances on."""
        return max([self.order_date, *(line.status_date for line in self.lines if line.status_date)])

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        po = str(raw.get("purchaseOrderId") or "").strip() or None
        reader = _Reader("purchaseOrderId", po)
        lines = tuple(_order_line(reader, i, line) for i, line in enumerate(_list(raw, "orderLines", "orderLine")))
        shipping = raw.get("shippingInfo") or {}
        address = shipping.get("postalAddress") or {}
        node = raw.get("shipNode") or {}
        order = reader(lambda: cls(
            purchase_order_id=reader.required(po, "purchaseOrderId"),
            customer_order_id=str(raw.get("customerOrderId") or ""),
            customer_email=str(raw.get("customerEmailId") or ""),
            customer_name=str(address.get("name") or ""),
            order_date=reader.instant(raw.get("orderDate"), "orderDate"),
            ship_node=ShipNode(id=str(node.get("id") or ""), name=str(node.get("name") or ""),
                               type=str(node.get("type") or "")),
            currency=next((c.currency for line in lines for c in line.charges), "USD"),
            lines=lines,
        ), "order")
        order._raw = dict(raw)
        return order


class ReturnLine(WalmartModel):
    return_line_number: str
    purchase_order_id: str
    purchase_order_line_number: str
    sku: str
    quantity: Decimal
    product_refund: Decimal = Decimal(0)
    tax_refund: Decimal = Decimal(0)
    shipping_refund: Decimal = Decimal(0)
    refund_status: str = ""

    @property
    def total(self) -> Decimal:
        return self.product_refund + self.tax_refund + self.shipping_refund


class ReturnOrder(WalmartModel):
    return_order_id: str
    customer_order_id: str = ""
    customer_name: str = ""
    return_order_date: datetime
    total_refund: Decimal = Decimal(0)
    currency: str = "USD"
    lines: tuple[ReturnLine, ...] = ()
    _raw: dict = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict:
        return self._raw

    @property
    def refunded(self) -> bool:
        """Every line's refund has completed: only then does it become a Credit Note."""
        return bool(self.lines) and all(line.refund_status.upper() == REFUND_COMPLETED for line in self.lines)

    @property
    def purchase_order_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(line.purchase_order_id for line in self.lines))

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        rma = str(raw.get("returnOrderId") or "").strip() or None
        reader = _Reader("returnOrderId", rma)
        total = raw.get("totalRefundAmount") or {}
        name = raw.get("customerName")
        if isinstance(name, Mapping):
            name = " ".join(str(name.get(k) or "") for k in ("firstName", "lastName"))
        lines = tuple(_return_line(reader, i, line) for i, line in enumerate(raw.get("returnOrderLines") or []))
        order = reader(lambda: cls(
            return_order_id=reader.required(rma, "returnOrderId"),
            customer_order_id=str(raw.get("customerOrderId") or ""),
            customer_name=" ".join(str(name or "").split()),
            return_order_date=reader.instant(raw.get("returnOrderDate"), "returnOrderDate"),
            total_refund=reader.money(total.get("currencyAmount", 0), "totalRefundAmount.currencyAmount"),
            currency=str(total.get("currencyUnit") or "USD"),
            lines=lines,
        ), "return")
        order._raw = dict(raw)
        return order


# --- parsing helpers ----------------------------------------------------------------------------
class _Reader:
    """Reads fields of one record; a bad one raises ``RecordError`` naming the record and field."""

    def __init__(self, id_field: str, record: str | None) -> None:
        self.id_field, self.record = id_field, record

    def fail(self, field: str, message: str) -> RecordError:
        return RecordError(SYSTEM, self.record, field, message)

    def required(self, value: Any, field: str) -> Any:
        if value in (None, ""):
            raise self.fail(field, "missing")
        return value

    def money(self, value: Any, field: str) -> Decimal:
        try:
            amount = parse_decimal(value)
        except ValueError as error:
            raise self.fail(field, str(error)) from None
        if abs(amount) >= MAX_AMOUNT:  # no order line is worth this; it would break the arithmetic downstream
            raise self.fail(field, f"amount {value!r} out of range")
        return amount

    def instant(self, value: Any, field: str, *, optional: bool = False) -> datetime | None:
        try:
            moment = parse_instant(value)
        except (ValueError, OverflowError) as error:
            raise self.fail(field, str(error)) from None
        if moment is None and not optional:
            raise self.fail(field, "missing")
        return moment

    def __call__(self, build: Callable[[], Any], what: str) -> Any:
        try:
            return build()
        except RecordError:
            raise
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise self.fail(what, str(error).splitlines()[0]) from None


def _list(raw: Mapping[str, Any], outer: str, inner: str) -> list[Any]:
    value = raw.get(outer) or {}
    items = value.get(inner) if isinstance(value, Mapping) else value
    return list(items or [])


def _order_line(reader: _Reader, index: int, raw: Mapping[str, Any]) -> OrderLine:
    where = f"orderLines[{index}]"
    item = raw.get("item") or {}
    charges = []
    for j, charge in enumerate(_list(raw, "charges", "charge")):
        amount = charge.get("chargeAmount") or {}
        tax = charge.get("tax") or {}
        tax_amount = (tax.get("taxAmount") or {}).get("amount", 0)
        charges.append(Charge(
            charge_type=str(charge.get("chargeType") or "").upper(), charge_name=str(charge.get("chargeName") or ""),
            amount=reader.money(amount.get("amount"), f"{where}.charges[{j}].chargeAmount.amount"),
            currency=str(amount.get("currency") or "USD"), tax_name=str(tax.get("taxName") or ""),
            tax=reader.money(tax_amount, f"{where}.charges[{j}].tax.taxAmount.amount")))
    statuses = [LineStatus(status=str(s.get("status") or ""),
                           quantity=reader.money((s.get("statusQuantity") or {}).get("amount", 0),
                                                 f"{where}.orderLineStatuses[{k}].statusQuantity.amount"),
                           cancellation_reason=str(s.get("cancellationReason") or ""))
                for k, s in enumerate(_list(raw, "orderLineStatuses", "orderLineStatus"))]
    return reader(lambda: OrderLine(
        line_number=str(reader.required(raw.get("lineNumber"), f"{where}.lineNumber")),
        sku=str(reader.required(item.get("sku"), f"{where}.item.sku")),
        product_name=str(item.get("productName") or ""),
        quantity=reader.money((raw.get("orderLineQuantity") or {}).get("amount"), f"{where}.orderLineQuantity.amount"),
        charges=tuple(charges), statuses=tuple(statuses),
        status_date=reader.instant(raw.get("statusDate"), f"{where}.statusDate", optional=True)), where)


def _charge_total(reader: _Reader, totals: list[Any], name: str, where: str) -> Decimal | None:
    for total in totals:
        if str(total.get("name") or "").lower() == name.lower():
            return reader.money((total.get("value") or {}).get("currencyAmount", 0), f"{where}.chargeTotals.{name}")
    return None


def _return_line(reader: _Reader, index: int, raw: Mapping[str, Any]) -> ReturnLine:
    where = f"returnOrderLines[{index}]"
    totals = list(raw.get("chargeTotals") or [])
    quantity = raw.get("quantity") or {}
    qty = reader.money(quantity.get("measurementValue", quantity.get("amount", 0)) if isinstance(quantity, Mapping)
                       else quantity, f"{where}.quantity")
    product = _charge_total(reader, totals, "lineSubTotal", where)
    tax = _charge_total(reader, totals, "lineTotalTaxes", where)
    shipping = Decimal(0)
    if product is None or tax is None:
        product, tax, shipping = _from_charges(reader, raw, qty, where)
    return reader(lambda: ReturnLine(
        return_line_number=str(raw.get("returnOrderLineNumber") or index + 1),
        purchase_order_id=str(reader.required(raw.get("purchaseOrderId"), f"{where}.purchaseOrderId")),
        purchase_order_line_number=str(reader.required(raw.get("purchaseOrderLineNumber"),
                                                       f"{where}.purchaseOrderLineNumber")),
        sku=str(reader.required((raw.get("item") or {}).get("sku"), f"{where}.item.sku")),
        quantity=qty, product_refund=product, tax_refund=tax, shipping_refund=shipping,
        refund_status=str(raw.get("currentRefundStatus") or "")), where)


def _from_charges(reader: _Reader, raw: Mapping[str, Any], qty: Decimal, where: str) -> tuple[Decimal, ...]:
    product = tax = shipping = Decimal(0)
    for j, charge in enumerate(raw.get("charges") or []):
        per_unit = reader.money((charge.get("chargePerUnit") or {}).get("currencyAmount", 0),
                                f"{where}.charges[{j}].chargePerUnit")
        taxes = sum((reader.money((t.get("taxPerUnit") or {}).get("currencyAmount", 0), f"{where}.charges[{j}].tax")
                     for t in charge.get("tax") or []), Decimal(0))
        if str(charge.get("chargeCategory") or "").upper() == "SHIPPING":
            shipping += per_unit * qty
        else:
            product += per_unit * qty
        tax += taxes * qty
    return product, tax, shipping
