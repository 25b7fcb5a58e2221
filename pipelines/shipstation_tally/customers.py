"""Create the customer ledgers that staged orders need, before their vouchers are posted.

Tally masters are keyed by exact name and a duplicate name is refused, so a ledger cannot be
created twice; the sync ledger still records each one (flow `shipstation_tally.customers`) so the
audit trail shows who created it, and a failed creation is kept with its error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

from connectors.shipstation.models import Order
from connectors.tally.client import TallyClient
from connectors.tally.errors import TallyRejected
from connectors.tally.models import Ledger
from pipelines.shipstation_tally.mapping import MappingError, customer_ledger_name
from state.audit_hook import AuditHook
from state.ledger import Candidate, SyncLedger, current_owner

FLOW = "shipstation_tally.customers"
TARGET = "tally"


@dataclass
class CustomerReport:
    needed: int = 0
    created: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)


def missing_parties(orders: Iterable[Order], known: set[str]) -> dict[str, Order]:
    """Party ledger names the orders need that Tally does not have, with one order each (first seen)."""
    missing: dict[str, Order] = {}
    for order in orders:
        if order.order_status == "cancelled":
            continue
        try:
            name = customer_ledger_name(order)
        except MappingError:
            continue  # the order itself fails at posting, naming the field
        if name not in known and name not in missing:
            missing[name] = order
    return missing


def ledger_for(name: str, email: str | None, group: str) -> Ledger:
    """The ledger master for a customer; the email is kept on the ledger for the accountant."""
    return Ledger(name=name, parent=group, email=email or None)


class CustomerLedgerCreator:
    """Creates missing party ledgers under the configured group, in small batches."""

    def __init__(self, tally: TallyClient, ledger: SyncLedger, group: str, known: set[str], run_id: str,
                 *, batch_size: int = 25, audit: AuditHook | None = None) -> None:
        self.tally, self.ledger, self.group, self.known = tally, ledger, group, known
        self.owner = current_owner(run_id)
        self.batch_size = batch_size
        self.audit = audit or AuditHook(None)
        self.report = CustomerReport()
        self.created_names: list[str] = []

    def ensure(self, orders: Iterable[Order]) -> CustomerReport:
        missing = missing_parties(orders, self.known)
        return self.create((name, order.customer_email, order.order_number) for name, order in missing.items())

    def create(self, customers: Iterable[tuple[str, str | None, str]]) -> CustomerReport:
        """Create ledgers for `(name, email, what needs it)` in batches; names Tally has are not sent."""
        missing = [c for c in customers if c[0] not in self.known]
        self.report.needed += len(missing)
        iterator = iter(missing)
        while batch := list(islice(iterator, self.batch_size)):
            self._create(batch)
        return self.report

    def _create(self, batch: list[tuple[str, str | None, str]]) -> None:
        cands = [Candidate(name, f"ledger:{name}", self.group) for name, _, _ in batch]
        claims = {c.source_id: c for c in self.ledger.claim(FLOW, TARGET, cands, self.owner)}
        todo = [row for row in batch if claims[row[0]].action in ("create", "alter", "resolve")]
        if not todo:
            return
        self.audit.source_ids = [name for name, _, _ in todo]
        try:
            self.tally.import_masters([ledger_for(name, email, self.group) for name, email, _ in todo])
            present, errors = None, []
        except TallyRejected as exc:  # partly refused: Tally's own list says which ledgers exist now
            present, errors = {r.name for r in self.tally.list_ledgers()}, exc.line_errors
        posted, failed = [], []
        for name, _, needed_by in todo:
            if present is None or name in present:
                posted.append((name, name, self.group, False))
                self.known.add(name)
                self.created_names.append(name)
            else:
                failed.append((name, "; ".join(errors) or "Tally did not create the ledger", None))
                self.report.failures.append({"ledger": name, "order_number": needed_by, "error": failed[-1][1]})
        self.ledger.record_posted(FLOW, TARGET, posted)
        self.ledger.record_failed(FLOW, TARGET, failed)
        self.report.created += len(posted)
        self.report.failed += len(failed)
