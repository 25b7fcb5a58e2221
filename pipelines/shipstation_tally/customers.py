"""Create the customer ledgers that staged ShipStation orders need, before their vouchers are posted.

Which ledgers an order needs is this flow's business (named as `mapping.customer_ledger_name` names
them); creating them is the Tally side's (`pipelines.sides.tally.masters`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.shipstation.models import Order
from connectors.tally.client import TallyClient
from pipelines.shipstation_tally.mapping import customer_ledger_name
from pipelines.sides.errors import MappingError
from pipelines.sides.shipstation import reading
from pipelines.sides.tally.masters import MasterCreator, MasterWant, party_ledger, party_ledger_name
from state.audit_hook import AuditHook
from state.ledger import SyncLedger
from state.staging import StagingStore

FLOW = "shipstation_tally.customers"


@dataclass
class CustomerReport:
    needed: int = 0
    created: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)


def staged_party(raw: Any) -> str | None:
    """The party ledger an order's records use (`mapping.customer_ledger_name`), read from the raw record
    without parsing it, to stage beside the order; None when that is not certain (read the order then)."""
    candidates = reading.party_candidates(raw)
    return None if candidates is None else party_ledger_name(*candidates)


def party_known(raw: Any, known: set[str]) -> bool:
    """Whether the order's party ledger is certainly in `known`, read from the raw record without parsing
    the whole order; False whenever it is not certain."""
    party = staged_party(raw)
    return party is not None and party in known


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


class CustomerLedgerCreator:
    """Creates missing party ledgers under the configured group, in small batches."""

    def __init__(self, tally: TallyClient, ledger: SyncLedger, group: str, known: set[str], run_id: str,
                 *, batch_size: int = 25, audit: AuditHook | None = None) -> None:
        self.group, self.known = group, known
        self._creator = MasterCreator(tally, ledger, FLOW, run_id, lambda: {r.name for r in tally.list_ledgers()},
                                      batch_size=batch_size, audit=audit)
        self.report = CustomerReport()
        self.created_names: list[str] = []

    def ensure_staged(self, store: StagingStore, run_id: str) -> CustomerReport:
        """Create the ledgers that the orders staged by `run_id` need: the staging store is asked for the
        orders whose party Tally lacks (or whose party was not staged), and only those are decoded and parsed,
        in staging order, 500 staged orders at a time as `ensure` always took them."""
        for chunk in store.iter_staged_orders_of_unknown_party(run_id, self.known):
            unknown = (raw for raw in chunk if not party_known(raw, self.known))
            self.ensure(order for order, _ in reading.parse_orders(unknown) if order is not None)
        return self.report

    def ensure(self, orders: Iterable[Order]) -> CustomerReport:
        missing = missing_parties(orders, self.known)
        return self.create((name, order.customer_email, order.order_number) for name, order in missing.items())

    def create(self, customers: Iterable[tuple[str, str | None, str]]) -> CustomerReport:
        """Create ledgers for `(name, email, what needs it)`; names Tally has are not sent."""
        wants = [MasterWant(party_ledger(name, email, self.group), f"ledger:{name}", self.group, needed_by)
                 for name, email, needed_by in customers if name not in self.known]
        before = len(self._creator.report.created), len(self._creator.report.failures)
        self._creator.create(wants)
        created = self._creator.report.created[before[0]:]
        failures = self._creator.report.failures[before[1]:]
        self.known.update(created)
        self.created_names.extend(created)
        self.report.needed += len(wants)
        self.report.created += len(created)
        self.report.failed += len(failures)
        self.report.failures.extend({"ledger": f["name"], "order_number": f["needed_by"], "error": f["error"]}
                                    for f in failures)
        return self.report
