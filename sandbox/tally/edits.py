"""JSON views of vouchers and the hand-edits an accountant makes in Tally's UI (control plane only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from .company import Company
from .model import LEDGER, InventoryLine, LedgerLine, Voucher
from .raw import raw_to_json
from .replies import Rejected
from .voucher_build import check_signs, check_totals


def voucher_json(v: Voucher) -> dict[str, Any]:
    return {
        "guid": v.guid, "master_id": v.master_id, "alter_id": v.alter_id, "type": v.vtype.name,
        "date": v.date.isoformat(), "number": v.number, "reference": v.reference,
        "party": v.party.name if v.party else None, "narration": v.narration, "remote_id": v.remote_id,
        "cancelled": v.cancelled, "optional": v.optional, "view": v.view,
        "ledger_entries": [_line_json(ln) for ln in v.ledger_lines],
        "inventory_entries": [_item_json(ln) for ln in v.inventory_lines],
        "fields": v.fields, "extra": [raw_to_json(r) for r in v.extra],
    }


def _line_json(line: LedgerLine) -> dict[str, Any]:
    return {"ledger": line.ledger.name, "amount": str(line.amount),
            "is_deemed_positive": line.deemed_positive, "is_party": line.is_party}


def _item_json(line: InventoryLine) -> dict[str, Any]:
    return {
        "item": line.item.name, "unit": line.item.base_unit, "actual_qty": str(line.actual_qty),
        "billed_qty": str(line.billed_qty), "rate": None if line.rate is None else str(line.rate),
        "amount": str(line.amount), "is_deemed_positive": line.deemed_positive,
        "batches": [{"godown": b.godown.name, "batch": b.batch_name, "order_no": b.order_no,
                     "tracking_number": b.tracking_number} for b in line.batches],
        "accounting": [_line_json(a) for a in line.allocations],
    }


def edit_voucher(company: Company, old: Voucher, edits: dict[str, Any]) -> Voucher:
    """Apply UI-style edits to a copy, validate it like an import, then save (ALTERID moves).

    Keys: narration, reference, number, date (ISO), party, cancelled, ledger_amounts {ledger: amount},
    item_quantities {item: qty} (amount follows qty x rate when the line has a rate).
    """
    new = _clone(old)
    for key in ("narration", "reference", "number"):
        if key in edits:
            setattr(new, key, str(edits[key]))
    if "date" in edits:
        new.date = date.fromisoformat(edits["date"])
    if "cancelled" in edits:
        new.cancelled = bool(edits["cancelled"])
    if "party" in edits:
        new.party = _ledger(company, edits["party"])
    for name, amount in edits.get("ledger_amounts", {}).items():
        _set_amount(new, name, Decimal(str(amount)))
    for name, qty in edits.get("item_quantities", {}).items():
        _set_quantity(new, name, Decimal(str(qty)))
    check_signs(new)
    check_totals(new)
    return company.replace_voucher(old, new)


def _clone(v: Voucher) -> Voucher:
    items = [replace(i, batches=[replace(b) for b in i.batches], allocations=[replace(a) for a in i.allocations])
             for i in v.inventory_lines]
    return replace(v, ledger_lines=[replace(ln) for ln in v.ledger_lines], inventory_lines=items,
                   fields=dict(v.fields), extra=list(v.extra))


def _ledger(company: Company, name: str) -> Any:
    found = company.master(LEDGER, name)
    if found is None:
        raise Rejected(f"Ledger '{name}' does not exist!")
    return found


def _set_amount(v: Voucher, ledger: str, amount: Decimal) -> None:
    lines = v.ledger_lines + [a for i in v.inventory_lines for a in i.allocations]
    line = next((ln for ln in lines if ln.ledger.name == ledger), None)
    if line is None:
        raise Rejected(f"Ledger '{ledger}' is not on voucher {v.master_id}")
    line.amount, line.deemed_positive = amount, amount < 0


def _set_quantity(v: Voucher, item: str, qty: Decimal) -> None:
    line = next((ln for ln in v.inventory_lines if ln.item.name == item), None)
    if line is None:
        raise Rejected(f"Stock Item '{item}' is not on voucher {v.master_id}")
    line.actual_qty = line.billed_qty = qty
    if line.rate is not None:
        value = qty * line.rate
        line.amount = -value if line.deemed_positive else value
    if len(line.batches) == 1:
        line.batches[0].actual_qty = line.batches[0].billed_qty = qty
        line.batches[0].amount = line.amount
    if len(line.allocations) == 1:
        line.allocations[0].amount = line.amount
