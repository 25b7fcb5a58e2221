"""Customer payments (reference §8): create (applied to invoices), get, list, delete; invoice payments.

A payment applies `invoices[].amount_applied` to invoices of the same customer; applying more
than an invoice's balance, or in total more than `amount`, is 400 (codes assumed). Void invoices
take no payments; a draft invoice that is paid becomes sent (as the UI does). Deleting a payment
gives the amounts back to the invoices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.zoho_books import listing
from sandbox.zoho_books.errors import invalid, refused
from sandbox.zoho_books.org import Organization, Record, money, required

MODES = ("cash", "check", "creditcard", "banktransfer", "bankremittance", "autotransaction", "others")


def create(org: Organization, body: Record) -> Record:
    """Record a payment and apply it."""
    customer = org.contact(required(body, "customer_id"))
    amount = money(required(body, "amount"), "amount")
    if amount <= 0:
        raise invalid("amount")
    mode = str(body.get("payment_mode", "cash")).lower()
    if mode not in MODES:
        raise invalid("payment_mode")
    applied = _applications(org, customer, body.get("invoices", []), amount)
    record: Record = {"payment_id": org.new_id(), "payment_number": str(org.next_number("payment")),
                      "customer_id": customer["contact_id"], "customer_name": customer["contact_name"],
                      "payment_mode": mode, "amount": amount, "date": _date(org, body),
                      "reference_number": body.get("reference_number", ""), "description": body.get("description", ""),
                      "account_id": str(body.get("account_id", "")), "bank_charges": Decimal(0), "invoices": []}
    for invoice, share in applied:
        entry = {"invoice_payment_id": org.new_id(), "invoice_id": invoice["invoice_id"],
                 "invoice_number": invoice["invoice_number"], "date": invoice["date"], "amount_applied": share}
        record["invoices"].append(entry)
        _apply(org, invoice, share, record, entry)
    record["unused_amount"] = amount - sum((share for _, share in applied), Decimal(0))
    org.created(record)
    org.payments[record["payment_id"]] = record
    return record


def _date(org: Organization, body: Record) -> str:
    return listing.parse_date(body["date"], "date").isoformat() if body.get("date") else org.today()


def _applications(org: Organization, customer: Record, given: Any, amount: Decimal) -> list[tuple[Record, Decimal]]:
    if not isinstance(given, list) or not all(isinstance(entry, dict) for entry in given):
        raise invalid("invoices")
    out = []
    for entry in given:
        invoice = org.invoices.get(str(entry.get("invoice_id", "")))
        if invoice is None or invoice["customer_id"] != customer["contact_id"] or invoice["status"] == "void":
            raise invalid("invoice_id")
        share = money(required(entry, "amount_applied"), "amount_applied")
        if share <= 0 or share > invoice["balance"]:
            raise refused(24016, "The amount applied is more than the balance due of the invoice.")
        out.append((invoice, share))
    if sum((share for _, share in out), Decimal(0)) > amount:
        raise refused(24017, "The amount applied to invoices is more than the payment amount.")
    return out


def _apply(org: Organization, invoice: Record, share: Decimal, payment: Record, entry: Record) -> None:
    invoice["payment_made"] += share
    invoice["balance"] -= share
    if invoice["status"] == "draft":
        invoice["status"] = "sent"
    invoice["last_payment_date"] = payment["date"]
    invoice["payments"].append({"payment_id": payment["payment_id"], "invoice_payment_id": entry["invoice_payment_id"],
                                "payment_number": payment["payment_number"], "payment_mode": payment["payment_mode"],
                                "date": payment["date"], "amount": share,
                                "reference_number": payment["reference_number"], "description": payment["description"]})
    org.touch(invoice)


def delete(org: Organization, payment: Record) -> None:
    """Remove a payment and give its amounts back to the invoices."""
    for entry in payment["invoices"]:
        invoice = org.invoices.get(entry["invoice_id"])
        if invoice is None:
            continue
        invoice["payment_made"] -= entry["amount_applied"]
        invoice["balance"] += entry["amount_applied"]
        invoice["payments"] = [p for p in invoice["payments"] if p["payment_id"] != payment["payment_id"]]
        org.touch(invoice)
    del org.payments[payment["payment_id"]]


def find(org: Organization, query: Record) -> Record:
    """`GET /customerpayments`: filters, sort, one page."""
    rows: Any = org.payments.values()
    if "customer_id" in query:
        rows = [r for r in rows if r["customer_id"] == query["customer_id"]]
    for base in ("reference_number", "customer_name", "payment_number"):
        rows = listing.text(rows, query, base, lambda r, b=base: [r.get(b)])
    rows = listing.modified_since(listing.dates(rows, query, "date"), query)
    return listing.page("customerpayments", "payment_id", list(rows), query,
                        sortable=("date", "amount", "created_time", "last_modified_time"), default="created_time",
                        shape=lambda r: {k: v for k, v in r.items() if k != "invoices"})
