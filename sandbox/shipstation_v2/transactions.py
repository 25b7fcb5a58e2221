"""Validate a `POST /v2/inventory` body into a :class:`Transaction` (reference §5.2).

Required: `transaction_type` (increment|decrement|adjust|modify), `sku`, `quantity`,
`inventory_location_id`. Optional: `cost {amount, currency}`, `condition`
(sellable|damaged|expired|qa_hold), `lot`, `usable_start_date`, `usable_end_date`, `effective_at`,
`reason`, `notes`, and for `modify` `new_inventory_location_id`, `new_cost`, `new_condition`.
Unknown keys are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.shipstation_v2.errors import invalid, required

TRANSACTION_TYPES = ("increment", "decrement", "adjust", "modify")
CONDITIONS = ("sellable", "damaged", "expired", "qa_hold")
REQUIRED = ("transaction_type", "sku", "quantity", "inventory_location_id")
TEXT_FIELDS = ("lot", "usable_start_date", "usable_end_date", "effective_at", "reason", "notes")

Cost = tuple[Decimal, str]


@dataclass(frozen=True)
class Transaction:
    """One validated inventory transaction."""

    transaction_type: str
    sku: str
    quantity: int
    location_id: str
    cost: Cost | None = None
    condition: str | None = None
    lot: str | None = None
    new_location_id: str | None = None
    new_cost: Cost | None = None
    new_condition: str | None = None
    reason: str | None = None
    notes: str | None = None
    effective_at: str | None = None
    usable_start_date: str | None = None
    usable_end_date: str | None = None


def loads(raw: bytes) -> Any:
    """Decode a JSON request body with numbers as `Decimal`; 400 when it is empty or not JSON."""
    if not raw.strip():
        raise invalid("a JSON request body is required", code="request_body_required")
    try:
        return json.loads(raw, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid(f"request body is not valid JSON: {exc.msg}") from None


def _text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string")
    return value


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise invalid("quantity must be an integer")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise invalid("quantity must be an integer")
    quantity = int(value)
    if quantity < 0:
        raise invalid("quantity must not be negative")
    return quantity


def _cost(body: dict[str, Any], field: str) -> Cost | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(f"{field} must be an object with amount and currency")
    amount, currency = value.get("amount"), value.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | str):
        raise invalid(f"{field}.amount must be a number")
    try:
        parsed = Decimal(amount)
    except InvalidOperation:
        raise invalid(f"{field}.amount must be a number") from None
    if not parsed.is_finite() or parsed < 0:
        raise invalid(f"{field}.amount must be a non-negative number")
    if not isinstance(currency, str) or not currency.strip():
        raise invalid(f"{field}.currency is required")
    return parsed, currency.strip().lower()


def _condition(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and value not in CONDITIONS:
        raise invalid(f"{field} must be one of {', '.join(CONDITIONS)}")
    return value


def _check_required(body: dict[str, Any]) -> None:
    for field in REQUIRED:
        if body.get(field) in (None, ""):
            raise required(field)
    if body["transaction_type"] not in TRANSACTION_TYPES:
        raise invalid(f"transaction_type must be one of {', '.join(TRANSACTION_TYPES)}")


def parse_transaction(body: Any) -> Transaction:
    """Validate one request body; raise `V2Error` (400) naming the first bad field."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    _check_required(body)
    kind = body["transaction_type"]
    quantity = _quantity(body["quantity"])
    if quantity == 0 and kind != "adjust":
        raise invalid(f"quantity must be at least 1 for {kind}")
    texts = {field: _text(body, field) for field in TEXT_FIELDS}
    transaction = Transaction(
        transaction_type=kind,
        sku=_required_text(body, "sku"),
        quantity=quantity,
        location_id=_required_text(body, "inventory_location_id"),
        cost=_cost(body, "cost"),
        condition=_condition(body, "condition"),
        new_location_id=_text(body, "new_inventory_location_id"),
        new_cost=_cost(body, "new_cost"),
        new_condition=_condition(body, "new_condition"),
        **texts,
    )
    _check_modify(transaction)
    return transaction


def _required_text(body: dict[str, Any], field: str) -> str:
    value = _text(body, field)
    if value is None or not value.strip():
        raise required(field)
    return value


def _check_modify(transaction: Transaction) -> None:
    changes = (transaction.new_location_id, transaction.new_cost, transaction.new_condition)
    if transaction.transaction_type == "modify" and all(change is None for change in changes):
        raise invalid("modify needs new_inventory_location_id, new_cost or new_condition")
    if transaction.transaction_type != "modify" and any(change is not None for change in changes):
        raise invalid("new_inventory_location_id, new_cost and new_condition are only valid with modify")

