"""Our identity inside a Tally voucher: `[ext:<key>]` in the narration, found again by key.

Chosen over REMOTEID, whose create-or-update behaviour the reference marks unverified (§3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from connectors.tally.models import VoucherId, VoucherRecord

MARKER_RE = re.compile(r"\[ext:([^\]]+)\]")
Found = VoucherRecord | VoucherId  # a full voucher, or just its identity (the cheap read-back)


def marker(key: str) -> str:
    """The tag written into a voucher's narration so the voucher can be found again by `key`."""
    return f"[ext:{key}]"


def index_by_marker(records: Iterable[Found], keys: set[str]) -> dict[str, Found]:
    """The first live (not cancelled) voucher carrying each of `keys`."""
    index: dict[str, Found] = {}
    for record in records:
        for key in MARKER_RE.findall(record.narration or ""):
            if key in keys and not record.is_cancelled:
                index.setdefault(key, record)
    return index
