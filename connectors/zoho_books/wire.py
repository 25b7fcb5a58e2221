"""Zoho Books JSON on the wire: exact ``Decimal`` numbers out, Zoho's timestamps in."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any


def encode_json(body: Any) -> bytes:
    """JSON with every ``Decimal`` written as the exact number it holds (money never passes through float)."""
    text = json.dumps(body, default=_mark_decimal, ensure_ascii=False, separators=(",", ":"))
    return _DECIMAL.sub(r"\1", text).encode()


_DECIMAL = re.compile(r'"\\u0000dec:(-?[0-9.E+-]+)"')


def _mark_decimal(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return f"\u0000dec:{value}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


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
