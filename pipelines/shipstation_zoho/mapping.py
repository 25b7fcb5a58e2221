"""Pure mappings ShipStation -> Zoho Books: orders to contacts and invoices, labels to journals.

No I/O: the caller resolves the contact id and item ids first and passes them in. Money stays
``Decimal``. Invoice arithmetic follows the ShipStation reference (§2.2): ``orderTotal = Σ qty ×
unitPrice (adjustment lines included) + shippingAmount + taxAmount``; the adjustment (discount)
lines become Zoho's entity-level ``discount``, shipping its ``shipping_charge`` and the order's
tax an ``adjustment`` with the lines sent untaxed (``tax_mode="adjustment"``: Zoho would otherwise add
each item's own tax on top), or Zoho's item taxes (``tax_mode="item"``). In adjustment mode an
invoice that would not add up to the order's total is refused, naming the order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.common.timezones import local_date
from connectors.shipstation.models import Address, Customer, Order, OrderItem
from connectors.shipstation.shipments import Shipment
from pipelines.sides.errors import MappingError

CENT = Decimal("0.01")
ItemId = Callable[[OrderItem], str]


@dataclass(frozen=True)
class InvoiceConfig:
    timezone: str = "UTC"  # the organisation's: an invoice is dated on the order's day there
    unique_field: str = ""  # API name of a unique invoice custom field holding our key (empty: reference only)
    tracking_field: str = ""  # API name of an invoice custom field for carrier + tracking (empty: notes only)
    tax_description: str = "Tax collected (ShipStation)"
    # "adjustment": the order's tax as the invoice adjustment, lines untaxed (totals equal ShipStation's to
    # the cent); "item": each item's own Zoho tax applies and Zoho computes the tax (tax reports, but the
    # total is Zoho's arithmetic, not ShipStation's).
    tax_mode: str = "adjustment"


@dataclass(frozen=True)
class JournalConfig:
    expense_account_id: str
    clearing_account_id: str
    timezone: str = "UTC"


def external_key(order: Order) -> str:
    """The invoice's reference: deterministic from the order, never reused."""
    return f"ss-order-{order.order_id}"


def label_key(shipment: Shipment) -> str:
    return f"ss-label-{shipment.shipment_id}"


def day_key(day: date) -> str:
    return f"ss-labels-{day.isoformat()}"


def describe(order: Order) -> str:
    return f"order {order.order_number} (orderId {order.order_id})"


def payload_hash(body: Any) -> str:
    """A stable digest of what would be sent."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# -- contacts ------------------------------------------------------------------------------------
def contact_email(order: Order) -> str:
    """The key a customer is matched by in Zoho: the order's email, lower case."""
    email = (order.customer_email or "").strip().lower()
    if "@" not in email:
        raise MappingError(describe(order), "customerEmail", "no email: the customer cannot be matched in Zoho")
    return email


def contact_name(order: Order) -> str:
    bill = order.bill_to or Address()
    name = (bill.name or bill.company or order.customer_username or "").strip()
    if not name:
        raise MappingError(describe(order), "billTo.name", "no name for the Zoho contact")
    return name


def zoho_address(address: Address | None) -> dict[str, str]:
    a = address or Address()
    return {"attention": a.name or "", "address": a.street1 or "", "street2": " ".join(
        s for s in (a.street2, a.street3) if s), "city": a.city or "", "state": a.state or "", "zip": a.postal_code
        or "", "country": a.country or "", "phone": a.phone or ""}


def contact_body(order: Order) -> dict[str, Any]:
    """A customer contact from the order's billing details, its email on the primary contact person (§5)."""
    email, name, bill = contact_email(order), contact_name(order), order.bill_to or Address()
    first, _, last = name.partition(" ")
    person = {"first_name": first, "last_name": last, "email": email, "phone": bill.phone or "",
              "is_primary_contact": True}
    return {"contact_name": name, "company_name": bill.company or "", "contact_type": "customer",
            "customer_sub_type": "business" if bill.company else "individual",
            "billing_address": zoho_address(order.bill_to), "shipping_address": zoho_address(order.ship_to),
            "contact_persons": [person],
            "notes": f"ShipStation customer {order.customer_username}" if order.customer_username else ""}


def customer_contact_body(customer: Customer) -> dict[str, Any]:
    """A Zoho customer contact from a ShipStation customer (one made implicitly from its orders, §3.3)."""
    label = f"customer {customer.customer_id}"
    email = (customer.email or "").strip().lower()
    if "@" not in email:
        raise MappingError(label, "email", "no email: the customer cannot be matched in Zoho")
    name = (customer.name or customer.company or "").strip()
    if not name:
        raise MappingError(label, "name", "no name for the Zoho contact")
    address = Address(name=customer.name, company=customer.company, street1=customer.street1,
                      street2=customer.street2, city=customer.city, state=customer.state,
                      postal_code=customer.postal_code, country=customer.country_code, phone=customer.phone)
    first, _, last = name.partition(" ")
    usernames = ", ".join(m.username for m in customer.marketplace_usernames if m.username)
    return {"contact_name": name, "company_name": customer.company or "", "contact_type": "customer",
            "customer_sub_type": "business" if customer.company else "individual",
            "billing_address": zoho_address(address), "shipping_address": zoho_address(address),
            "contact_persons": [{"first_name": first, "last_name": last, "email": email, "phone": customer.phone or "",
                                 "is_primary_contact": True}],
            "notes": f"ShipStation customer {customer.customer_id}" + (f" ({usernames})" if usernames else "")}


def contact_hash(body: dict[str, Any]) -> str:
    """Only who the contact is (email, name) decides whether it changed: Zoho owns the rest."""
    return payload_hash([body["contact_persons"][0]["email"], body["contact_name"]])


# -- invoices ------------------------------------------------------------------------------------
def tracking_text(labels: Sequence[Shipment]) -> str:
    """Carrier and tracking number of each live label, oldest first."""
    live = sorted((s for s in labels if not s.voided and s.tracking_number), key=lambda s: s.create_date)
    return "; ".join(f"{(s.carrier_code or '').upper()} {s.tracking_number}".strip() for s in live)


def order_to_invoice(order: Order, customer_id: str, item_id: ItemId, cfg: InvoiceConfig,
                     labels: Sequence[Shipment] = ()) -> dict[str, Any]:
    """The invoice for one order; raises MappingError naming the order and field it cannot map."""
    goods = [line for line in order.items if not line.adjustment]
    if not goods:
        raise MappingError(describe(order), "items", "no goods lines to invoice")
    lines = [_line(order, n, line, item_id) | ({"tax_id": ""} if cfg.tax_mode == "adjustment" else {})
             for n, line in enumerate(goods, 1)]
    tax = order.tax_amount if cfg.tax_mode == "adjustment" else Decimal(0)
    adjustments = sum((line.unit_price * line.quantity for line in order.items if line.adjustment), Decimal(0))
    discount, surcharge = max(-adjustments, Decimal(0)), max(adjustments, Decimal(0))
    body: dict[str, Any] = {
        "customer_id": customer_id, "reference_number": external_key(order),
        "date": local_date(order.order_date or order.create_date, cfg.timezone).isoformat(),
        "line_items": lines, "is_discount_before_tax": True, "discount_type": "entity_level",
        "discount": _money(discount), "shipping_charge": _money(order.shipping_amount),
        "adjustment": _money(tax + surcharge), "adjustment_description": cfg.tax_description,
        "notes": _notes(order, labels), "custom_fields": _custom_fields(order, cfg, labels),
    }
    if cfg.tax_mode == "adjustment":
        _check_total(order, body)
    return body


def _line(order: Order, n: int, line: OrderItem, item_id: ItemId) -> dict[str, Any]:
    if line.quantity <= 0:
        raise MappingError(describe(order), f"items[{n - 1}].quantity", f"must be positive, got {line.quantity}")
    if line.unit_price < 0:
        raise MappingError(describe(order), f"items[{n - 1}].unitPrice", "negative price on a goods line")
    return {"item_id": item_id(line), "name": line.name, "description": f"SKU {line.sku}" if line.sku else "",
            "rate": _money(line.unit_price), "quantity": line.quantity, "item_order": n}


def _notes(order: Order, labels: Sequence[Shipment]) -> str:
    tracking = tracking_text(labels)
    return f"ShipStation order {order.order_number}" + (f"\nShipped: {tracking}" if tracking else "")


def _custom_fields(order: Order, cfg: InvoiceConfig, labels: Sequence[Shipment]) -> list[dict[str, str]]:
    fields = [{"api_name": cfg.unique_field, "value": external_key(order)}] if cfg.unique_field else []
    if cfg.tracking_field:
        fields.append({"api_name": cfg.tracking_field, "value": tracking_text(labels)})
    return fields


def invoice_total(body: dict[str, Any]) -> Decimal:
    """What Zoho will total the invoice to (lines − discount + shipping + adjustment)."""
    lines = sum((Decimal(line["rate"]) * line["quantity"] for line in body["line_items"]), Decimal(0))
    return lines - Decimal(body["discount"]) + Decimal(body["shipping_charge"]) + Decimal(body["adjustment"])


def _check_total(order: Order, body: dict[str, Any]) -> None:
    total = invoice_total(body)
    if total.quantize(CENT) != order.order_total.quantize(CENT):
        raise MappingError(describe(order), "orderTotal",
                           f"the invoice would total {total}, the order {order.order_total}")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# -- journals ------------------------------------------------------------------------------------
def label_cost(shipment: Shipment) -> Decimal:
    return _money(shipment.shipment_cost + shipment.insurance_cost)


def label_journal(shipment: Shipment, cfg: JournalConfig) -> dict[str, Any]:
    """One label's cost: debit shipping expense, credit the clearing account (the carrier's bill settles it)."""
    cost = label_cost(shipment)
    if cost <= 0:
        raise MappingError(f"label {shipment.shipment_id}", "shipmentCost", f"nothing to book ({cost})")
    text = _label_text(shipment)
    return {"journal_date": local_date(shipment.create_date, cfg.timezone).isoformat(),
            "reference_number": label_key(shipment), "status": "published", "notes": text,
            "line_items": [_jline(cfg.expense_account_id, "debit", cost, text),
                           _jline(cfg.clearing_account_id, "credit", cost, text)]}


def day_journal(day: date, created: Sequence[Shipment], voided: Sequence[Shipment],
                cfg: JournalConfig) -> dict[str, Any] | None:
    """One journal for a day: each label created that day booked, each label voided that day reversed."""
    lines, net = [], Decimal(0)
    for s in sorted(created, key=lambda s: s.shipment_id):
        lines.append(_jline(cfg.expense_account_id, "debit", label_cost(s), _label_text(s)))
        net += label_cost(s)
    for s in sorted(voided, key=lambda s: s.shipment_id):
        lines.append(_jline(cfg.expense_account_id, "credit", label_cost(s), "void: " + _label_text(s)))
        net -= label_cost(s)
    if not lines:
        return None
    if net:
        side = "credit" if net > 0 else "debit"
        lines.append(_jline(cfg.clearing_account_id, side, abs(net), f"ShipStation labels {day.isoformat()}"))
    return {"journal_date": day.isoformat(), "reference_number": day_key(day), "status": "published",
            "notes": f"ShipStation label costs {day.isoformat()}: {len(created)} labels, {len(voided)} voids",
            "line_items": lines}


def _jline(account_id: str, side: str, amount: Decimal, text: str) -> dict[str, Any]:
    return {"account_id": account_id, "debit_or_credit": side, "amount": amount, "description": text[:500]}


def _label_text(s: Shipment) -> str:
    return (f"ShipStation label {s.shipment_id} order {s.order_number or '-'} "
            f"{(s.carrier_code or '').upper()} {s.tracking_number or ''}").strip()
