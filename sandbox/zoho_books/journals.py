"""Manual journals (reference §9): create, update, get, list, delete; debits must equal credits.

Each line needs `amount` (> 0), `debit_or_credit` (`debit`/`credit`) and an `account_id` of the
chart of accounts; a `customer_id` must be a contact. Unequal totals are 400 with a code and
message we assumed (the docs state the rule, not the error). `entry_number` runs 1, 2, …
`status` is `published` unless `draft` is asked for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.zoho_books import listing
from sandbox.zoho_books.errors import invalid, refused
from sandbox.zoho_books.org import Organization, Record, money, required

SORTABLE = ("journal_date", "entry_number", "reference_number", "total", "created_time", "last_modified_time")


def create(org: Organization, body: Record) -> Record:
    """A new journal entry from a create body."""
    record: Record = {"journal_id": org.new_id(), "entry_number": str(org.next_number("journal")),
                      "reference_number": "", "notes": "", "journal_type": "both", "status": "published",
                      "currency_id": org.currency_id, "currency_code": org.currency_code, "exchange_rate": Decimal(1)}
    required(body, "journal_date")
    required(body, "line_items")
    _apply(org, record, body)
    org.created(record)
    org.journals[record["journal_id"]] = record
    return record


def update(org: Organization, record: Record, body: Record) -> Record:
    """Apply an update body; `line_items`, when given, replace the lines."""
    _apply(org, record, body)
    return org.touch(record)


def _apply(org: Organization, record: Record, body: Record) -> None:
    values: Record = {k: body[k] for k in ("notes", "journal_type") if k in body}
    if body.get("journal_date"):
        values["journal_date"] = listing.parse_date(body["journal_date"], "journal_date").isoformat()
    if body.get("status"):
        if body["status"] not in ("draft", "published"):
            raise invalid("status")
        values["status"] = body["status"]
    if "line_items" in body:
        values["line_items"] = _lines(org, body["line_items"])
        values["total"] = sum((line["amount"] for line in values["line_items"] if line["debit_or_credit"] == "debit"),
                              Decimal(0))
    if "reference_number" in body:
        org.index("journal.reference", body["reference_number"], record["journal_id"],
                  old=record.get("reference_number") or None)
        values["reference_number"] = body["reference_number"] or ""
    record.update(values)


def _lines(org: Organization, given: Any) -> list[Record]:
    if not isinstance(given, list) or not given or not all(isinstance(line, dict) for line in given):
        raise invalid("line_items")
    lines = [_line(org, entry) for entry in given]
    debits = sum((line["amount"] for line in lines if line["debit_or_credit"] == "debit"), Decimal(0))
    credits = sum((line["amount"] for line in lines if line["debit_or_credit"] == "credit"), Decimal(0))
    if debits != credits:
        raise refused(13013, "The journal entry is not balanced: total debits and total credits must be equal.")
    return lines


def _line(org: Organization, entry: Record) -> Record:
    side = required(entry, "debit_or_credit")
    if side not in ("debit", "credit"):
        raise invalid("debit_or_credit")
    amount = money(required(entry, "amount"), "amount")
    if amount <= 0:
        raise invalid("amount")
    account = org.account(required(entry, "account_id"))
    line: Record = {"line_id": org.new_id(), "account_id": account["account_id"],
                    "account_name": account["account_name"], "debit_or_credit": side, "amount": amount,
                    "description": entry.get("description", ""), "customer_id": "", "customer_name": "",
                    "tax_id": entry.get("tax_id", ""), "tags": entry.get("tags", [])}
    if entry.get("customer_id"):
        contact = org.contact(entry["customer_id"])
        line.update(customer_id=contact["contact_id"], customer_name=contact["contact_name"])
    return line


def delete(org: Organization, record: Record) -> None:
    """Remove a journal entry."""
    org.index("journal.reference", None, record["journal_id"], old=record.get("reference_number") or None)
    del org.journals[record["journal_id"]]


def find(org: Organization, query: Record) -> Record:
    """`GET /journals`: filters, sort, one page."""
    rows: Any = org.journals.values()
    if "reference_number" in query:
        rows = [org.journals[i] for i in org.lookup("journal.reference", query["reference_number"])
                if i in org.journals]
    for base in ("entry_number", "reference_number", "notes"):
        rows = listing.text(rows, query, base, lambda r, b=base: [r.get(b)])
    rows = listing.modified_since(listing.dates(rows, query, "date", "journal_date"), query)
    if "customer_id" in query:
        rows = [r for r in rows if any(line["customer_id"] == query["customer_id"] for line in r["line_items"])]
    return listing.page("journals", "journal_id", list(rows), query, sortable=SORTABLE, default="journal_date",
                        shape=lambda r: {k: v for k, v in r.items() if k != "line_items"})
