"""The value-object format both ways (reference §4), and exact JSON for Decimals.

Business fields travel wrapped, ``{"OrderNbr": {"value": "SO004512"}}``; system fields (``id``,
``rowNumber``, ``note``, ``custom``, ``_links``, ``files``, ``delete``) travel plain. A linked entity is
a nested object, a detail entity an array of objects. Contract v5 drop-downs arrive as
``{"value": {"id": "CL", "description": "Completed"}}`` (§1); :func:`label` reads either form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.common import jsonwire

SYSTEM_FIELDS = frozenset({"id", "rowNumber", "note", "custom", "_links", "files", "delete", "error"})

Plain = dict[str, Any]


def wrap(record: Mapping[str, Any]) -> Plain:
    """Plain values -> value objects; nested mappings stay linked entities, lists of mappings details.

    ``None`` values are left out (only send fields you need, §4); datetimes must be aware.
    """
    out: Plain = {}
    for key, value in record.items():
        if value is None:
            continue
        if key in SYSTEM_FIELDS:
            out[key] = value
        elif isinstance(value, Mapping):
            out[key] = wrap(value)
        elif isinstance(value, list):
            out[key] = [wrap(row) for row in value]
        else:
            out[key] = {"value": _scalar(key, value)}
    return out


def _scalar(key: str, value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{key}: a naive datetime cannot be sent to Acumatica (offset unknown)")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | str | Decimal):
        return value
    raise TypeError(f"{key}: cannot send a {type(value).__name__} as an Acumatica value")


def unwrap(record: Any) -> Any:
    """Value objects -> plain values, recursively; system fields kept as they are."""
    if isinstance(record, list):
        return [unwrap(row) for row in record]
    if not isinstance(record, Mapping):
        return record
    out: Plain = {}
    for key, value in record.items():
        if key in SYSTEM_FIELDS:
            out[key] = value
        elif isinstance(value, Mapping) and set(value) <= {"value", "error"} and "value" in value:
            out[key] = value["value"]
        elif isinstance(value, Mapping) and not value:
            out[key] = None  # an empty wrapper: the field exists but holds nothing
        else:
            out[key] = unwrap(value)
    return out


def label(value: Any) -> str | None:
    """A drop-down value: the label string (v4) or the v5 ``{"id", "description"}`` object's description."""
    if isinstance(value, Mapping):
        text = value.get("description") or value.get("id")
        return str(text) if text is not None else None
    return None if value is None else str(value)


def dumps(body: Any) -> bytes:
    """JSON with every ``Decimal`` written digit for digit (no float detour) and datetimes as ISO text."""
    return jsonwire.dumps(body, default=_iso, separators=(", ", ": "))


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
