"""One Zoho Books organisation: its settings, records, indexes and custom fields.

Records are plain dicts in Zoho's field names; money is `Decimal`; times are Zoho's
`yyyy-MM-ddTHH:mm:ss+hhmm` in the organisation's time zone. Handlers in `contacts.py`,
`invoices.py`, `journals.py` change them; they call `touch()` so `last_modified_time` moves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.zoho_books.errors import invalid, missing, refused

Record = dict[str, Any]
CENT = Decimal("0.01")
# Daily API calls per plan (reference §11); concurrency 5 on Free, 10 on paid plans.
DAILY_BY_PLAN = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000, "elite": 10000,
                 "ultimate": 10000}


def number(value: Any, name: str) -> Decimal:
    """A JSON number (quantity, exchange rate) as Decimal; 400 naming the field otherwise."""
    if isinstance(value, bool) or value in (None, ""):
        raise invalid(name)
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise invalid(name) from None
    if not parsed.is_finite():
        raise invalid(name)
    return parsed


def money(value: Any, name: str) -> Decimal:
    """A JSON amount as Decimal to the cent; 400 naming the field if it is not a number."""
    return number(value, name).quantize(CENT, rounding=ROUND_HALF_UP)


def zoho_time(moment: datetime, zone: ZoneInfo) -> str:
    """`2026-04-03T17:30:00+0530`: Zoho's timestamp format, in the organisation's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class CustomField:
    customfield_id: str
    label: str
    api_name: str
    entity: str                       # contact, item, invoice, customerpayment
    data_type: str = "string"
    is_unique: bool = False

    def value_of(self, value: Any) -> Record:
        """The entry a record carries for this field."""
        return {"customfield_id": self.customfield_id, "label": self.label, "api_name": self.api_name,
                "placeholder": self.api_name, "data_type": self.data_type, "value": value}


@dataclass
class Organization:
    organization_id: str
    name: str
    dc: str
    currency_code: str = "INR"
    time_zone: str = "Asia/Calcutta"
    plan: str = "standard"
    id_base: int = 460_000_000_000_000
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    contacts: dict[str, Record] = field(default_factory=dict)
    items: dict[str, Record] = field(default_factory=dict)
    invoices: dict[str, Record] = field(default_factory=dict)
    payments: dict[str, Record] = field(default_factory=dict)
    journals: dict[str, Record] = field(default_factory=dict)
    accounts: dict[str, Record] = field(default_factory=dict)
    taxes: dict[str, Record] = field(default_factory=dict)
    custom_fields: list[CustomField] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    listeners: list[Callable[[str, Record], None]] = field(default_factory=list, repr=False)
    indexes: dict[str, dict[str, set[str]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._ids = itertools.count(self.id_base + 1)
        self.zone = ZoneInfo(self.time_zone)

    @property
    def currency_id(self) -> str:
        return str(self.id_base)

    def new_id(self) -> str:
        """The next record id (Zoho ids are long numeric strings)."""
        return str(next(self._ids))

    def stamp(self) -> str:
        """Now as a Zoho timestamp."""
        return zoho_time(self.now(), self.zone)

    def today(self) -> str:
        """Today's date in the organisation's zone, `yyyy-mm-dd`."""
        return self.now().astimezone(self.zone).date().isoformat()

    def next_number(self, series: str) -> int:
        """The next number of an auto-numbered series (invoices, journals, payments)."""
        self.numbers[series] = self.numbers.get(series, 0) + 1
        return self.numbers[series]

    def created(self, record: Record) -> Record:
        """Stamp a new record's created and modified times."""
        record["created_time"] = record["last_modified_time"] = self.stamp()
        return record

    def touch(self, record: Record) -> Record:
        """Move a record's `last_modified_time` to now."""
        record["last_modified_time"] = self.stamp()
        return record

    def emit(self, event: str, record: Record) -> None:
        """Tell the listeners (webhooks) that `event` happened to `record`."""
        for listener in list(self.listeners):
            listener(event, record)

    def index(self, name: str, key: Any, record_id: str, *, old: Any = None) -> None:
        """File `record_id` under `key` in index `name` (moving it from `old`)."""
        table = self.indexes.setdefault(name, {})
        if old not in (None, ""):
            table.get(str(old).lower(), set()).discard(record_id)
        if key not in (None, ""):
            table.setdefault(str(key).lower(), set()).add(record_id)

    def lookup(self, name: str, key: Any) -> set[str]:
        """Ids filed under `key` (case-insensitive) in index `name`."""
        return set(self.indexes.get(name, {}).get(str(key).lower(), ()))

    def field_for(self, entity: str, ref: Record) -> CustomField:
        """The custom field a request entry names by `customfield_id`, `api_name` or `label`."""
        for cf in self.custom_fields:
            if cf.entity == entity and ref.get("customfield_id", ref.get("api_name", ref.get("label"))) in (
                    cf.customfield_id, cf.api_name, cf.label):
                return cf
        raise invalid("custom_fields")

    def unique_field(self, entity: str, api_name: str | None) -> CustomField:
        """The unique custom field `X-Unique-Identifier-Key` names; 400 if none is unique."""
        for cf in self.custom_fields:
            if cf.entity == entity and cf.api_name == api_name and cf.is_unique:
                return cf
        raise invalid("X-Unique-Identifier-Key")

    def apply_custom_fields(self, entity: str, table: dict[str, Record], record: Record, given: Any) -> None:
        """Merge `custom_fields` from a request into `record`, refusing duplicates of unique fields."""
        if given is None:
            return
        if not isinstance(given, list) or not all(isinstance(entry, dict) for entry in given):
            raise invalid("custom_fields")
        id_key = f"{entity}_id"
        values = {cf["customfield_id"]: cf for cf in record.get("custom_fields", [])}
        for entry in given:
            cf = self.field_for(entity, entry)
            value = entry.get("value")
            holder = self.find_by_field(table, cf, value)
            if cf.is_unique and value not in (None, "") and holder is not None and holder is not record:
                raise refused(1001, f"The value \"{value}\" for {cf.label} already exists.")
            old = values.get(cf.customfield_id, {}).get("value")
            values[cf.customfield_id] = cf.value_of(value)
            self.index(f"cf:{cf.customfield_id}", value, record[id_key], old=old)
        record["custom_fields"] = list(values.values())

    def find_by_field(self, table: dict[str, Record], cf: CustomField, value: Any) -> Record | None:
        """The record of `table` whose custom field `cf` holds `value` (unique fields are indexed)."""
        if value in (None, ""):
            return None
        for record_id in sorted(self.lookup(f"cf:{cf.customfield_id}", value)):
            if record_id in table:
                return table[record_id]
        return None

    def account(self, account_id: Any) -> Record:
        """A chart-of-accounts entry by id, else 400."""
        account = self.accounts.get(str(account_id))
        if account is None:
            raise invalid("account_id")
        return account

    def contact(self, contact_id: Any, field_name: str = "customer_id") -> Record:
        """A contact by id, else 400 naming the field that pointed at it."""
        contact = self.contacts.get(str(contact_id))
        if contact is None:
            raise invalid(field_name)
        return contact


def required(body: Record, name: str) -> Any:
    """`body[name]`, or 400 when it is missing or empty."""
    value = body.get(name)
    if value in (None, "", []):
        raise missing(name)
    return value
