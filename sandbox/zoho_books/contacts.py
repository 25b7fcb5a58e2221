"""Contacts (reference §5): create, update, get, list with filters, upsert by unique custom field.

- Only `contact_name` is required, on create and (per the OpenAPI schema) on update; names are
  unique per organisation: a second one is 400 `{3062, 'The customer "X" already exists. Please
  specify a different name.'}` (message as seen in integrators' logs).
- The `email` filter matches the primary contact person's email (case-insensitive); top-level
  `first_name`, `last_name`, `email`, `phone`, `mobile` mirror the primary contact person.
- The list takes no `last_modified_time` filter (Zoho's OpenAPI documents none for contacts;
  integrators note it is undocumented), so the parameter is ignored as an unknown one is; the
  documented `sort_column=last_modified_time&sort_order=D` serves incremental reads.
- `contact.created` / `contact.updated` events go to the organisation's webhook listeners.
"""

from __future__ import annotations

from typing import Any

from sandbox.zoho_books import listing
from sandbox.zoho_books.errors import invalid, refused
from sandbox.zoho_books.org import Organization, Record, required

ADDRESS = ("attention", "address", "street2", "city", "state", "zip", "country", "phone")
PERSON = ("salutation", "first_name", "last_name", "email", "phone", "mobile", "designation")
SIMPLE = ("company_name", "website", "notes", "customer_sub_type", "payment_terms", "payment_terms_label",
          "language_code", "gst_treatment", "gst_no", "place_of_contact", "tax_id")
LIST_FIELDS = ("contact_id", "contact_name", "company_name", "contact_type", "status", "payment_terms",
               "payment_terms_label", "currency_id", "currency_code", "outstanding_receivable_amount",
               "unused_credits_receivable_amount", "first_name", "last_name", "email", "phone", "mobile",
               "created_time", "last_modified_time")
SORTABLE = ("contact_name", "first_name", "last_name", "email", "outstanding_receivable_amount", "created_time",
            "last_modified_time")


def create(org: Organization, body: Record) -> Record:
    """A new contact from a create body."""
    name = str(required(body, "contact_name"))
    contact_type = body.get("contact_type", "customer")
    if contact_type not in ("customer", "vendor"):
        raise invalid("contact_type")
    record: Record = {
        "contact_id": org.new_id(), "contact_name": "", "company_name": "", "contact_type": contact_type,
        "customer_sub_type": "individual", "status": "active", "payment_terms": 0,
        "payment_terms_label": "Due on Receipt", "currency_id": org.currency_id, "currency_code": org.currency_code,
        "outstanding_receivable_amount": 0, "unused_credits_receivable_amount": 0, "first_name": "",
        "last_name": "", "email": "", "phone": "", "mobile": "", "billing_address": _address({}),
        "shipping_address": _address({}), "contact_persons": [], "custom_fields": [], "notes": ""}
    _rename(org, record, name)
    org.created(record)
    _apply(org, record, body)
    org.contacts[record["contact_id"]] = record
    org.emit("contact.created", record)
    return record


def update(org: Organization, record: Record, body: Record) -> Record:
    """Apply an update body to `record` (`contact_name` required, as the schema says)."""
    _rename(org, record, str(required(body, "contact_name")))
    _apply(org, record, body)
    org.touch(record)
    org.emit("contact.updated", record)
    return record


def _rename(org: Organization, record: Record, name: str) -> None:
    holders = {i for i in org.lookup("contact.name", name) if i in org.contacts} - {record["contact_id"]}
    if holders:
        raise refused(3062, f"The {record['contact_type']} \"{name}\" already exists. Please specify a different name.")
    org.index("contact.name", name, record["contact_id"], old=record["contact_name"] or None)
    record["contact_name"] = name


def _apply(org: Organization, record: Record, body: Record) -> None:
    for name in SIMPLE:
        if name in body:
            record[name] = body[name]
    for kind in ("billing_address", "shipping_address"):
        if kind in body:
            if not isinstance(body[kind], dict):
                raise invalid(kind)
            record[kind] = _address(record[kind] | body[kind])
    if "contact_persons" in body:
        _persons(org, record, body["contact_persons"])
    org.apply_custom_fields("contact", org.contacts, record, body.get("custom_fields"))


def _address(given: Record) -> Record:
    return {name: given.get(name, "") or "" for name in ADDRESS}


def _persons(org: Organization, record: Record, given: Any) -> None:
    if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
        raise invalid("contact_persons")
    persons = {p["contact_person_id"]: p for p in record["contact_persons"]}
    for entry in given:
        person = persons.get(str(entry.get("contact_person_id", "")))
        if person is None:
            person = {"contact_person_id": org.new_id(), "is_primary_contact": False, **{k: "" for k in PERSON}}
            persons[person["contact_person_id"]] = person
        person.update({k: entry[k] or "" for k in PERSON if k in entry})
        if entry.get("is_primary_contact"):
            for other in persons.values():
                other["is_primary_contact"] = other is person
    if persons and not any(p["is_primary_contact"] for p in persons.values()):
        next(iter(persons.values()))["is_primary_contact"] = True
    record["contact_persons"] = list(persons.values())
    primary = next(p for p in persons.values() if p["is_primary_contact"])
    org.index("contact.email", primary["email"], record["contact_id"], old=record["email"] or None)
    record.update({k: primary[k] for k in ("first_name", "last_name", "email", "phone", "mobile")})


def summary(record: Record) -> Record:
    """The row a list shows."""
    return {name: record.get(name) for name in LIST_FIELDS}


def find(org: Organization, query: Record) -> Record:
    """`GET /contacts`: filters, sort, one page."""
    rows: Any = org.contacts.values()
    if "email" in query:
        rows = [org.contacts[i] for i in org.lookup("contact.email", query["email"]) if i in org.contacts]
    for base in ("contact_name", "company_name", "first_name", "last_name", "email", "phone"):
        rows = listing.text(rows, query, base, lambda r, b=base: [r.get(b)])
    if "search_text" in query:
        wanted = query["search_text"].lower()
        rows = [r for r in rows if any(wanted in str(r.get(f, "")).lower()
                                       for f in ("contact_name", "company_name", "email"))]
    if "contact_type" in query:
        rows = [r for r in rows if r["contact_type"] == query["contact_type"]]
    status = query.get("filter_by", "Status.All")
    if status in ("Status.Active", "Status.Inactive"):
        rows = [r for r in rows if r["status"] == status.split(".")[1].lower()]
    return listing.page("contacts", "contact_id", list(rows), query, sortable=SORTABLE, default="contact_name",
                        default_order="A", shape=summary)
