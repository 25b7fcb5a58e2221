"""Journals as an upsert target, keyed by ``reference_number`` (Zoho reference §9).

A cancel never deletes what was booked: it posts a reversing journal (every line's side flipped),
referenced ``<key>-void`` and dated by the item's ``detail["reversal_date"]``, once — it is looked up
before it is sent, so a cancel whose answer was lost is not reversed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.zoho_books.client import ZohoBooksClient
from pipelines.posting import Outcome, PostItem
from pipelines.sides.zoho_books.upsert import OneByOne
from state.audit_hook import AuditHook
from state.ledger import Claim

REVERSAL_SUFFIX = "-void"
FLIP = {"debit": "credit", "credit": "debit"}


def balance(journal: dict[str, Any]) -> Any:
    """Debits minus credits (zero for a journal Zoho accepts)."""
    return sum((line["amount"] if line["debit_or_credit"] == "debit" else -line["amount"])
               for line in journal.get("line_items") or [])


def reversal(journal: dict[str, Any], reference: str, day: str) -> dict[str, Any]:
    """The journal that undoes `journal`: the same lines, each on the other side."""
    lines = [{k: v for k, v in line.items() if k in ("account_id", "amount", "description", "customer_id")}
             | {"debit_or_credit": FLIP[line["debit_or_credit"]]} for line in journal.get("line_items") or []]
    return {"journal_date": day, "reference_number": reference, "status": "published",
            "notes": f"Reverses {journal.get('reference_number')} (label voided)", "line_items": lines}


class ZohoJournalTarget(OneByOne):
    """`PostItem.payload` is a journal body; None asks for a reversal."""

    def __init__(self, client: ZohoBooksClient, audit: AuditHook | None = None) -> None:
        super().__init__(audit)
        self.client = client

    def check(self, item: PostItem) -> str | None:
        diff = balance(item.payload)
        return None if diff == 0 else f"journal does not balance (debits - credits = {diff})"

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        return self.find_by(pending, lambda key: self.client.find_journals(reference_number=key), "journal_id")

    def _create_one(self, item: PostItem) -> str:
        return str(self.client.create_journal(item.payload)["journal_id"])

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        return self.change(item, lambda: self._update(item, target_id))

    def _update(self, item: PostItem, target_id: str) -> Outcome:
        self.client.update_journal(target_id, item.payload)
        return Outcome()

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        return self.change(item, lambda: self._reverse(item, target_id))

    def _reverse(self, item: PostItem, target_id: str) -> Outcome:
        reference = item.key + REVERSAL_SUFFIX
        if self.client.find_journals(reference_number=reference):
            return Outcome()
        day = str((item.candidate.detail or {}).get("reversal_date") or "")
        original = self.client.get_journal(target_id)
        self.client.create_journal(reversal(original, reference, day or str(original.get("journal_date"))))
        return Outcome()
