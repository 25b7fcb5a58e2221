"""Zoho Books JSON on the wire: exact ``Decimal`` numbers out, Zoho's timestamps in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.common import jsonwire


def encode_json(body: Any) -> bytes:
    """JSON with every ``Decimal`` written as the exact number it holds (money never passes through float)."""
    return jsonwire.dumps(body)


def parse_time(value: Any) -> datetime | None:
    """Zoho's ``2013-10-07T18:24:51+0530`` as an aware datetime (None if absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
