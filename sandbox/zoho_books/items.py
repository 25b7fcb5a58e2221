"""Items (reference §6): create (`name`, `rate` required; `sku` unique), update, get, list by sku.

A second item with a SKU already in use is 400 `{1001, 'Item with SKU "X" already exists.'}`
(code and message assumed). A non-numeric `rate` is 400 naming `rate`.
"""

from __future__ import annotations

from typing import Any

from sandbox.zoho_books import listing
from sandbox.zoho_books.errors import invalid, refused
from sandbox.zoho_books.org import Organization, Record, money, required

SIMPLE = ("description", "unit", "item_type", "product_type", "is_taxable", "hsn_or_sac", "purchase_description")
LIST_FIELDS = ("item_id", "name", "status", "description", "rate", "unit", "sku", "item_type", "product_type",
               "tax_id", "tax_name", "tax_percentage", "account_id", "account_name", "purchase_rate",
               "created_time", "last_modified_time")
SORTABLE = ("name", "rate", "sku", "created_time", "last_modified_time")


def create(org: Organization, body: Record) -> Record:
    """A new item from a create body."""
    record: Record = {"item_id": org.new_id(), "name": "", "status": "active", "description": "", "rate": 0,
                      "unit": "", "sku": "", "item_type": "sales", "product_type": "goods", "tax_id": "",
                      "tax_name": "", "tax_percentage": 0, "account_id": "", "account_name": "",
                      "purchase_rate": 0, "custom_fields": []}
    required(body, "name")
    required(body, "rate")
    _apply(org, record, body)
    org.created(record)
    org.items[record["item_id"]] = record
    return record


def update(org: Organization, record: Record, body: Record) -> Record:
    """Apply an update body to `record`."""
    _apply(org, record, body)
    return org.touch(record)


def _apply(org: Organization, record: Record, body: Record) -> None:
    if "sku" in body and body["sku"] not in (None, ""):
        holders = {i for i in org.lookup("item.sku", body["sku"]) if i in org.items} - {record["item_id"]}
        if holders:
            raise refused(1001, f"Item with SKU \"{body['sku']}\" already exists.")
    values: Record = {k: body[k] for k in SIMPLE if k in body}
    if "name" in body:
        values["name"] = str(required(body, "name"))
    for name in ("rate", "purchase_rate"):
        if name in body:
            values[name] = money(body[name], name)
    if body.get("tax_id"):
        tax = org.taxes.get(str(body["tax_id"]))
        if tax is None:
            raise invalid("tax_id")
        values |= {"tax_id": tax["tax_id"], "tax_name": tax["tax_name"], "tax_percentage": tax["tax_percentage"]}
    if body.get("account_id"):
        account = org.account(body["account_id"])
        values |= {"account_id": account["account_id"], "account_name": account["account_name"]}
    if "sku" in body:
        org.index("item.sku", body["sku"], record["item_id"], old=record["sku"] or None)
        values["sku"] = body["sku"] or ""
    record.update(values)
    org.apply_custom_fields("item", org.items, record, body.get("custom_fields"))


def summary(record: Record) -> Record:
    """The row a list shows."""
    return {name: record.get(name) for name in LIST_FIELDS}


def find(org: Organization, query: Record) -> Record:
    """`GET /items`: filters, sort, one page."""
    rows: Any = org.items.values()
    if "sku" in query:
        rows = [org.items[i] for i in org.lookup("item.sku", query["sku"]) if i in org.items]
    for base in ("name", "sku", "description"):
        rows = listing.text(rows, query, base, lambda r, b=base: [r.get(b)])
    if "search_text" in query:
        wanted = query["search_text"].lower()
        rows = [r for r in rows if any(wanted in str(r.get(f, "")).lower() for f in ("name", "sku", "description"))]
    status = query.get("filter_by", "Status.All")
    if status in ("Status.Active", "Status.Inactive"):
        rows = [r for r in rows if r["status"] == status.split(".")[1].lower()]
    return listing.page("items", "item_id", list(rows), query, sortable=SORTABLE, default="name",
                        default_order="A", shape=summary)
