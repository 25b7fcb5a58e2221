"""Value objects both ways: wire JSON ↔ the records the state keeps.

A stored record is a plain dict: value fields hold Python values (`str`, `Decimal`, `int`, `bool`,
aware `datetime`), a linked entity is a dict, a detail entity a list of dicts; system keys are
lowercase (`id`, `note`). On the wire every value field is `{"value": ...}`; an empty one is `{}`
(as the API answers, e.g. `"InventoryID": {}` in Acumatica's own client tests). Linked and detail
entities appear only when `$expand` names them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.acumatica.errors import bad_request
from sandbox.acumatica.schema import Contract, kind, target

Record = dict[str, Any]
SYSTEM_IN = ("id", "rowNumber", "note", "custom", "delete", "_links", "files", "error")
INTEGER_TYPES = ("IntValue", "LongValue", "ShortValue", "ByteValue")


def parse_datetime(raw: str, tz: tzinfo) -> datetime:
    """ISO-8601; without an offset the tenant's time zone is meant."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"[sandbox] '{raw}' is not a valid date and time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def format_datetime(moment: datetime, tz: tzinfo) -> str:
    """In the tenant's time zone with its offset, milliseconds only when there are any."""
    local = moment.astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text += "." + f"{local.microsecond:06d}"[:3].rstrip("0")
    offset = local.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


def from_wire(token: str, raw: Any, tz: tzinfo) -> Any:
    """One `value` of type `token` as a Python value; a value of the wrong type is 400."""
    if raw is None:
        return None
    try:
        if token in ("DecimalValue", "DoubleValue"):
            if isinstance(raw, bool):
                raise TypeError
            return Decimal(str(raw))
        if token in INTEGER_TYPES:
            if isinstance(raw, bool) or Decimal(str(raw)) != int(Decimal(str(raw))):
                raise TypeError
            return int(Decimal(str(raw)))
        if token == "BooleanValue":
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            if not isinstance(raw, bool):
                raise TypeError
            return raw
        if token == "DateTimeValue":
            return parse_datetime(str(raw), tz)
        if token == "GuidValue":
            return str(uuid.UUID(str(raw)))
        return raw if isinstance(raw, str) else str(raw)
    except (TypeError, ValueError, InvalidOperation):
        raise bad_request(f"[sandbox] The value '{raw}' cannot be converted to {token}.") from None


def to_wire(token: str, value: Any, tz: tzinfo) -> dict[str, Any]:
    if value is None:
        return {}
    if token == "DateTimeValue":
        return {"value": format_datetime(value, tz)}
    return {"value": value}


def read_entity(contract: Contract, definition: str, body: Any, tz: tzinfo) -> Record:
    """An incoming entity (top-level, linked or detail row) in stored form; unknown fields are ignored."""
    if not isinstance(body, dict):
        raise bad_request("[sandbox] The request is invalid: an entity must be a JSON object.")
    fields = contract.fields(definition)
    out: Record = {}
    for name, raw in body.items():
        if name in ("id", "delete") and raw is not None:
            out[name] = str(raw) if name == "id" else bool(raw)
        elif name == "note" and isinstance(raw, dict):
            out["note"] = raw.get("value")
        elif name in fields:
            out[name] = _read_field(contract, fields[name], raw, tz)
    return out


def _read_field(contract: Contract, token: str, raw: Any, tz: tzinfo) -> Any:
    shape = kind(token)
    if shape == "value":
        if not isinstance(raw, dict):
            raise bad_request(f"[sandbox] The request is invalid: expected {{\"value\": ...}}, got {raw!r}.")
        return from_wire(token, raw.get("value"), tz)
    if shape == "linked":
        return read_entity(contract, token, raw, tz)
    if not isinstance(raw, list):
        raise bad_request("[sandbox] The request is invalid: a detail entity must be a JSON array.")
    return [read_entity(contract, target(token), row, tz) for row in raw]


class Paths:
    """`$expand` / `$select` as sets of slash paths, narrowed as rendering descends."""

    def __init__(self, expand: Iterable[str], select: Iterable[str] | None) -> None:
        self.expand = {p.strip() for p in expand if p.strip()}
        self.select = None if select is None else {p.strip() for p in select if p.strip()}

    @classmethod
    def parse(cls, expand: str | None, select: str | None) -> Paths:
        return cls((expand or "").split(","), None if not select else select.split(","))

    def expanded(self, name: str) -> bool:
        return any(p == name or p.startswith(name + "/") for p in self.expand) or (
            self.select is not None and any(p.startswith(name + "/") for p in self.select))

    def selected(self, name: str) -> bool:
        return self.select is None or any(p == name or p.startswith(name + "/") for p in self.select)

    def under(self, name: str) -> Paths:
        cut = len(name) + 1
        select = None if self.select is None or name in self.select else {
            p[cut:] for p in self.select if p.startswith(name + "/")}
        return Paths((p[cut:] for p in self.expand if p.startswith(name + "/")), select)


LinkMaker = Callable[[str, Record], dict[str, str]]


def render(contract: Contract, definition: str, record: Record, paths: Paths, tz: tzinfo, links: LinkMaker,
           row_number: int = 1) -> Record:
    """A stored record as the API answers it (system fields, values, expanded details, `_links`)."""
    out: Record = {"id": record["id"], "rowNumber": row_number, "note": {"value": record.get("note") or ""}}
    field_errors = record.get("_errors", {})
    for name, token in contract.fields(definition).items():
        shape = kind(token)
        if shape == "value":
            if paths.selected(name) or name in field_errors:
                out[name] = to_wire(token, record.get(name), tz)
                if name in field_errors:
                    out[name]["error"] = field_errors[name]
        elif paths.expanded(name):
            inner = paths.under(name)
            value = record.get(name)
            if shape == "linked":
                empty = {"id": str(uuid.uuid5(uuid.UUID(record["id"]), name))}
                out[name] = render(contract, token, value or empty, inner, tz, links)
            else:
                out[name] = [render(contract, target(token), row, inner, tz, links, n)
                             for n, row in enumerate(value or [], 1)]
    if record.get("_error"):
        out["error"] = record["_error"]
    out["custom"] = {}
    out["_links"] = links(definition, record)
    return out
