"""Invoices (reference §7): create, update, get, list with filters, sent/void/draft, upsert.

- Create needs `customer_id` (an existing contact) and `line_items`; each line an `item_id` of an
  existing item or (ad hoc) a `name` with a `rate`. `ignore_auto_number_generation=true` makes
  `invoice_number` mandatory; otherwise numbers run `INV-000001`… unless one is given. A number in
  use is 400 `{1001, 'Invoice "X" already exists.'}` (assumed wording). `send=true` marks it sent.
- Money: line `item_total = rate × quantity − line discount`; `tax_total` from each line's tax;
  an entity-level `discount` (amount or `"n%"`) comes off `sub_total` before tax when
  `is_discount_before_tax` (tax scaled down), else after; `total = sub_total − discount + tax +
  shipping_charge + adjustment`; `balance = total − payments`. Rounded half-up to the cent.
- Status: draft → sent (`/status/sent`) → partially_paid / paid by payments; `overdue` when unpaid
  past `due_date`; `void` (`/status/void`) only without payments, else 400 (code assumed);
  `/status/draft` only from sent without payments. A void invoice cannot be edited (assumed 400);
  a paid one can, unless its new total falls below what was paid (assumed 400).
- `PUT /invoices` with `X-Unique-Identifier-Key/Value` (+ `X-Upsert: true`) updates the invoice
  holding that unique custom-field value, or creates one (see `app.py`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.zoho_books import listing
from sandbox.zoho_books.errors import invalid, refused
from sandbox.zoho_books.org import CENT, Organization, Record, money, number, required

SIMPLE = ("notes", "terms", "salesperson_name", "adjustment_description", "payment_terms", "payment_terms_label",
          "is_discount_before_tax", "discount_type", "is_inclusive_tax", "allow_partial_payments", "template_id",
          "location_id")
LIST_FIELDS = ("invoice_id", "customer_name", "customer_id", "status", "invoice_number", "reference_number", "date",
               "due_date", "currency_id", "currency_code", "total", "balance", "created_time", "last_modified_time",
               "is_emailed", "shipping_charge", "adjustment", "email", "custom_fields")
SORTABLE = ("customer_name", "invoice_number", "date", "due_date", "total", "balance", "created_time",
            "last_modified_time")
STATUS_FILTERS = {"Status.All": None, "Status.Sent": "sent", "Status.Draft": "draft", "Status.OverDue": "overdue",
                  "Status.Paid": "paid", "Status.Void": "void", "Status.Unpaid": "unpaid",
                  "Status.PartiallyPaid": "partially_paid"}


def create(org: Organization, body: Record, query: Record) -> Record:
    """A new invoice from a create body and the create flags in `query`."""
    customer = org.contact(required(body, "customer_id"))
    required(body, "line_items")
    number = body.get("invoice_number")
    if query.get("ignore_auto_number_generation") == "true":
        number = required(body, "invoice_number")
    record: Record = {"invoice_id": org.new_id(), "invoice_number": "", "reference_number": "", "status": "draft",
                      "date": org.today(), "currency_id": org.currency_id, "currency_code": org.currency_code,
                      "exchange_rate": Decimal(1), "discount": Decimal(0), "is_discount_before_tax": True,
                      "discount_type": "entity_level", "shipping_charge": Decimal(0), "adjustment": Decimal(0),
                      "payment_made": Decimal(0), "payments": [], "custom_fields": [], "notes": "", "terms": "",
                      "is_emailed": False, "last_payment_date": ""}
    _number(org, record, str(number) if number else f"INV-{org.next_number('invoice'):06d}")
    _customer(org, record, customer)
    _apply(org, record, body)
    if query.get("send") == "true":
        record["status"] = "sent"
    org.created(record)
    org.invoices[record["invoice_id"]] = record
    return record


def update(org: Organization, record: Record, body: Record) -> Record:
    """Apply an update body; `line_items`, when given, replace the lines."""
    if record["status"] == "void":
        raise refused(1037, "Void invoices cannot be edited.")
    if body.get("customer_id"):
        _customer(org, record, org.contact(body["customer_id"]))
    if body.get("invoice_number") and body["invoice_number"] != record["invoice_number"]:
        _number(org, record, str(body["invoice_number"]))
    _apply(org, record, body)
    return org.touch(record)


def _number(org: Organization, record: Record, number: str) -> None:
    if {i for i in org.lookup("invoice.number", number) if i in org.invoices} - {record["invoice_id"]}:
        raise refused(1001, f"Invoice \"{number}\" already exists.")
    org.index("invoice.number", number, record["invoice_id"], old=record["invoice_number"] or None)
    record["invoice_number"] = number


def _customer(org: Organization, record: Record, customer: Record) -> None:
    org.index("invoice.customer", customer["contact_id"], record["invoice_id"], old=record.get("customer_id"))
    record.update(customer_id=customer["contact_id"], customer_name=customer["contact_name"], email=customer["email"])


def _apply(org: Organization, record: Record, body: Record) -> None:
    values: Record = {k: body[k] for k in SIMPLE if k in body}
    for name in ("date", "due_date"):
        if body.get(name):
            values[name] = listing.parse_date(body[name], name).isoformat()
    for name in ("shipping_charge", "adjustment", "exchange_rate"):
        if name in body and body[name] not in (None, ""):
            values[name] = money(body[name], name) if name != "exchange_rate" else number(body[name], name)
    if "discount" in body:
        values["discount"] = _discount_value(body["discount"])
    if "reference_number" in body:
        org.index("invoice.reference", body["reference_number"], record["invoice_id"],
                  old=record.get("reference_number") or None)
        values["reference_number"] = body["reference_number"] or ""
    if "line_items" in body:
        old = {line["line_item_id"]: line for line in record.get("line_items", [])}
        values["line_items"] = _lines(org, body["line_items"], old)
    record.update(values)
    record.setdefault("due_date", record["date"])
    org.apply_custom_fields("invoice", org.invoices, record, body.get("custom_fields"))
    _totals(record)


def _discount_value(raw: Any) -> Any:
    text = str(raw).strip()
    if text.endswith("%"):
        money(text[:-1], "discount")
        return text
    return money(raw if text else 0, "discount")


def _lines(org: Organization, given: Any, existing: dict[str, Record]) -> list[Record]:
    if not isinstance(given, list) or not given or not all(isinstance(line, dict) for line in given):
        raise invalid("line_items")
    return [_line(org, entry, existing.get(str(entry.get("line_item_id", ""))), n)
            for n, entry in enumerate(given, 1)]


def _line(org: Organization, entry: Record, old: Record | None, order: int) -> Record:
    item = org.items.get(str(entry.get("item_id") or ""))
    if entry.get("item_id") and item is None:
        raise invalid("item_id")
    if item is None and not entry.get("name"):
        raise invalid("line_items")
    rate = entry.get("rate", item["rate"] if item else None)
    line: Record = {"line_item_id": old["line_item_id"] if old else org.new_id(),
                    "item_id": item["item_id"] if item else "", "sku": item["sku"] if item else "",
                    "name": entry.get("name") or (item["name"] if item else ""),
                    "description": entry.get("description", ""), "item_order": entry.get("item_order", order),
                    "rate": money(rate, "rate"), "quantity": number(entry.get("quantity", 1), "quantity"),
                    "unit": entry.get("unit", item["unit"] if item else ""), "discount": Decimal(0),
                    "tax_id": "", "tax_name": "", "tax_percentage": Decimal(0), "tags": entry.get("tags", []),
                    "account_id": entry.get("account_id") or (item["account_id"] if item else "")}
    if line["quantity"] <= 0:
        raise invalid("quantity")
    if "discount" in entry:
        line["discount"] = _discount_value(entry["discount"])
    tax_id = entry.get("tax_id", item["tax_id"] if item else "")
    if tax_id:
        tax = org.taxes.get(str(tax_id))
        if tax is None:
            raise invalid("tax_id")
        line.update(tax_id=tax["tax_id"], tax_name=tax["tax_name"], tax_percentage=tax["tax_percentage"])
    gross = line["rate"] * line["quantity"]
    line["discount_amount"] = _off(gross, line["discount"])
    line["item_total"] = (gross - line["discount_amount"]).quantize(CENT)
    return line


def _off(base: Decimal, discount: Any) -> Decimal:
    if isinstance(discount, str):
        return (base * Decimal(discount[:-1]) / 100).quantize(CENT)
    return Decimal(discount)


def _totals(record: Record) -> None:
    lines = record["line_items"]
    sub_total = sum((line["item_total"] for line in lines), Decimal(0))
    discount = _off(sub_total, record["discount"])
    scale = (sub_total - discount) / sub_total if sub_total and record["is_discount_before_tax"] else Decimal(1)
    tax = sum((line["item_total"] * scale * Decimal(line["tax_percentage"]) / 100 for line in lines), Decimal(0))
    total = (sub_total - discount + tax + record["shipping_charge"] + record["adjustment"]).quantize(CENT)
    if total < record["payment_made"]:
        raise refused(1038, "The invoice total cannot be less than the payments recorded for it.")
    record.update(sub_total=sub_total.quantize(CENT), discount_total=discount, tax_total=tax.quantize(CENT),
                  total=total, balance=total - record["payment_made"])


def status(org: Organization, record: Record) -> str:
    """The status Zoho reports now: stored draft/sent/void, then payments, then due date."""
    if record["status"] in ("draft", "void"):
        return record["status"]
    if record["balance"] <= 0:
        return "paid"
    if record["due_date"] < org.today():
        return "overdue"
    return "partially_paid" if record["payment_made"] > 0 else "sent"


def detail(org: Organization, record: Record) -> Record:
    """The invoice as `GET /invoices/{id}` shows it."""
    shown = {k: v for k, v in record.items() if k != "payments"}
    return shown | {"status": status(org, record)}


def mark(org: Organization, record: Record, target: str) -> str:
    """`/status/sent`, `/status/void`, `/status/draft`: the success message."""
    if target == "void":
        if record["payment_made"] > 0:
            raise refused(1039, "Invoices with payments recorded cannot be voided. Delete the payments first.")
        record.update(status="void", balance=Decimal(0))
    elif record["status"] == "void":
        raise refused(1040, "This action cannot be performed on a void invoice.")
    elif target == "draft":
        if record["payment_made"] > 0:
            raise refused(1041, "Invoices with payments recorded cannot be marked as draft.")
        record["status"] = "draft"
    else:
        record["status"] = "sent"
    org.touch(record)
    return f"Invoice status has been changed to {target.capitalize()}."


def find(org: Organization, query: Record) -> Record:
    """`GET /invoices`: filters, sort, one page."""
    rows: Any = org.invoices.values()
    for name, index in (("reference_number", "invoice.reference"), ("invoice_number", "invoice.number"),
                        ("customer_id", "invoice.customer")):
        if name in query:
            rows = [org.invoices[i] for i in org.lookup(index, query[name]) if i in org.invoices]
    for base in ("invoice_number", "reference_number", "customer_name", "email"):
        rows = listing.text(rows, query, base, lambda r, b=base: [r.get(b)])
    rows = listing.modified_since(listing.dates(listing.dates(rows, query, "date"), query, "due_date"), query)
    if "item_id" in query:
        rows = [r for r in rows if any(line["item_id"] == query["item_id"] for line in r["line_items"])]
    if "search_text" in query:
        wanted = query["search_text"].lower()
        rows = [r for r in rows if any(wanted in str(r.get(f, "")).lower()
                                       for f in ("invoice_number", "reference_number", "customer_name"))]
    wanted_status = query.get("status") or STATUS_FILTERS.get(query.get("filter_by", "Status.All"), "-")
    if wanted_status == "-":
        raise invalid("filter_by")
    if wanted_status:
        unpaid = ("sent", "overdue", "partially_paid")
        rows = [r for r in rows
                if (now := status(org, r)) == wanted_status or (wanted_status == "unpaid" and now in unpaid)]
    return listing.page("invoices", "invoice_id", list(rows), query, sortable=SORTABLE, default="created_time",
                        shape=lambda r: {k: r.get(k) for k in LIST_FIELDS} | {"status": status(org, r)})
