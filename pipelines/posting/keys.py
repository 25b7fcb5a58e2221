"""A source record's key in the sync ledger, for every flow."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def record_id(raw: Mapping, field: str) -> str:
    """The record's key in the sync ledger: its `field` (orderId, shipmentId, purchaseOrderId); a record
    without a usable one is held under a digest of its content (`no-id:<hex>`), so two such records are
    kept apart and each can be found and replayed, rather than one overwriting the other under "" in
    the ledger. Our own notes on a record (`_parse_error`, keys starting with `_`) do not change its key."""
    value = raw.get(field) if isinstance(raw, Mapping) else None
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    body = raw if isinstance(raw, Mapping) else {"_raw": repr(raw)}
    text = json.dumps({str(k): v for k, v in body.items() if not str(k).startswith("_") or k == "_raw"},
                      sort_keys=True, default=str)
    return "no-id:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
