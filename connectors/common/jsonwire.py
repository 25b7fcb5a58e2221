"""JSON request bodies with exact ``Decimal`` numbers (money never passes through ``float``).

The standard encoder refuses ``Decimal``; converting to ``float`` first would turn ``0.10`` into
``0.1`` and ``19.99 * 3`` into ``59.97000000000001``. Each finite ``Decimal`` is written digit for
digit in plain notation (``format(value, "f")``: ``1E+2`` goes out as ``100``), which every JSON
reader takes as a number.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["dumps"]


def dumps(body: Any, *, default: Callable[[Any], Any] | None = None,
          separators: tuple[str, str] = (",", ":")) -> bytes:
    """UTF-8 JSON of ``body`` (compact unless ``separators`` say otherwise) with every ``Decimal`` exact.

    ``default`` turns values JSON cannot hold (a datetime, say) into ones it can, as for
    :func:`json.dumps`; without it they raise ``TypeError``. A NaN or infinite number raises ``ValueError``.
    """
    # A fresh marker per call: no string in the body can pose as a number.
    marker = f"\u0000{secrets.token_hex(8)}:"

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"{value} is not a number JSON can hold")
            return marker + format(value, "f")
        if isinstance(value, Mapping):
            return dict(value)
        if default is not None:
            return default(value)
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(body, default=mark, ensure_ascii=False, allow_nan=False, separators=separators)
    number = re.compile('"' + re.escape(json.dumps(marker)[1:-1]) + r'(-?[0-9]+(?:\.[0-9]+)?)"')
    return number.sub(r"\1", text).encode("utf-8")
