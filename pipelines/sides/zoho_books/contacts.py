"""Contacts as a target, matched by email (Zoho reference §5): found, or created, never merged.

A contact is looked up by its primary contact person's email before anything is created (Zoho
has no idempotency on contacts, and the merchant may have made the customer by hand). A match with
another name is a conflict: reported, never merged or renamed. Contact names are unique in an
organisation, so a new customer whose name another email already uses is created as
``Name (email)``. Alters only check the name again: Zoho stays the record of the customer's details.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.errors import ZohoApiError
from pipelines.posting import Outcome, PostItem
from pipelines.sides.zoho_books.upsert import OneByOne
from state.audit_hook import AuditHook
from state.ledger import Claim

NAME_TAKEN = 3062  # "The customer "X" already exists" (contact names are unique per organisation)


def same_name(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def disambiguated(name: str, email: str) -> str:
    return f"{name} ({email})"


def conflict(email: str, ours: str, theirs: str, contact_id: str) -> str:
    return (f"conflict: {email} is Zoho contact {contact_id} named {theirs!r}, the order says {ours!r}; "
            "not merged — fix one side, then replay")


class ZohoContactTarget(OneByOne):
    """`PostItem.key` is the email (lower case); `payload` a contact body whose `contact_name` is ours."""

    def __init__(self, client: ZohoBooksClient, audit: AuditHook | None = None) -> None:
        super().__init__(audit)
        self.client = client

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        return self.find_by(pending, self.client.find_contacts_by_email, "contact_id")

    def _create_one(self, item: PostItem) -> str:
        name = item.payload["contact_name"]
        for match in self.client.find_contacts_by_email(item.key):
            if self._ours(match.get("contact_name"), name, item.key):
                return str(match["contact_id"])
            raise ZohoApiError(conflict(item.key, name, str(match.get("contact_name")), str(match["contact_id"])),
                               code=None, system=self.client.system)
        try:
            return str(self.client.create_contact(item.payload)["contact_id"])
        except ZohoApiError as exc:
            if exc.code != NAME_TAKEN:
                raise
        body = {**item.payload, "contact_name": disambiguated(name, item.key)}
        return str(self.client.create_contact(body)["contact_id"])

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        return self.change(item, lambda: self._recheck(item, target_id))

    def _recheck(self, item: PostItem, target_id: str) -> Outcome:
        theirs = str(self.client.get_contact(target_id).get("contact_name") or "")
        ours = item.payload["contact_name"]
        return Outcome() if self._ours(theirs, ours, item.key) else Outcome(conflict(item.key, ours, theirs, target_id))

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        return Outcome()  # a customer is never deleted because an order was cancelled

    @staticmethod
    def _ours(theirs: str | None, ours: str, email: str) -> bool:
        return same_name(theirs, ours) or same_name(theirs, disambiguated(ours, email))
