"""Invoices as an upsert target, keyed by our reference (Zoho reference §7, §10).

The key goes in ``reference_number`` (searchable, §7); with ``unique_field`` (the API name of a
custom field set to reject duplicates) it is also that field's value and creates are ``PUT
/invoices`` with Zoho's upsert headers, so even a create whose answer was lost cannot make a second
invoice. An alter reads the invoice first: one already paid (or part paid) is never overwritten —
the change is refused with both versions kept for a person (``conflicts``); a void one is put back to
draft first. A cancel voids the invoice; a paid one is refused (it needs a credit note).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.zoho_books.client import ZohoBooksClient
from pipelines.posting import Outcome, PostItem
from pipelines.sides.zoho_books.upsert import OneByOne
from state.audit_hook import AuditHook
from state.ledger import Claim

PAID = ("paid", "partially_paid")


class ZohoInvoiceTarget(OneByOne):
    """`PostItem.payload` is an invoice body; None asks for a void."""

    def __init__(self, client: ZohoBooksClient, *, unique_field: str = "", audit: AuditHook | None = None) -> None:
        super().__init__(audit)
        self.client, self.unique_field = client, unique_field
        self.conflicts: dict[str, dict[str, Any]] = {}  # key -> {"invoice": as in Zoho, "order": as now}

    def check(self, item: PostItem) -> str | None:
        lines = item.payload.get("line_items") or []
        return None if lines else "an invoice needs at least one line"

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        return self.find_by(pending, lambda key: self.client.find_invoices(reference_number=key), "invoice_id")

    def _create_one(self, item: PostItem) -> str:
        unique = (self.unique_field, item.key) if self.unique_field else None
        return str(self.client.create_invoice(item.payload, unique=unique)["invoice_id"])

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        return self.change(item, lambda: self._alter(item, target_id))

    def _alter(self, item: PostItem, target_id: str) -> Outcome:
        current = self.client.get_invoice(target_id)
        status = str(current.get("status") or "")
        if status in PAID:
            self.conflicts[item.key] = {"invoice": current, "order": item.raw}
            return Outcome(f"the order changed after invoice {current.get('invoice_number')} was {status}: not "
                           f"overwritten (invoice total {current.get('total')}, order total now "
                           f"{item.raw.get('orderTotal')}); both versions are kept for review")
        if status == "void":
            self.client.mark_invoice_draft(target_id)
        self.client.update_invoice(target_id, item.payload)
        return Outcome()

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        return self.change(item, lambda: self._cancel(target_id))

    def _cancel(self, target_id: str) -> Outcome:
        current = self.client.get_invoice(target_id)
        status = str(current.get("status") or "")
        if status == "void":
            return Outcome()
        if status in PAID:
            return Outcome(f"the order was cancelled but invoice {current.get('invoice_number')} is {status}: "
                           "not voided (a credit note or refund is needed)")
        self.client.void_invoice(target_id)
        return Outcome()
