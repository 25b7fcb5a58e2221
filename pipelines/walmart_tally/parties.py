"""The Tally masters the Walmart flows need before posting: party ledgers (created once), stock items (read).

Which ledger a purchase order needs is the mapping's business (`mapping.party_for`, under the ship
node's group); creating it is the Tally side's (`pipelines.sides.tally.masters.MasterCreator`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connectors.tally.client import TallyClient
from connectors.walmart.models import Order
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.masters import MasterCreator, MasterWant, party_ledger
from pipelines.sides.tally.skus import SkuResolver
from pipelines.walmart_tally.mapping import SalesConfig, party_for, party_group
from state.audit_hook import AuditHook
from state.ledger import SyncLedger

FLOW = "walmart_tally.parties"


@dataclass
class Masters:
    skus: SkuResolver
    known: set[str]
    created: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)


def resolver(client: TallyClient, sku_map: Mapping[str, str]) -> SkuResolver:
    """Walmart SKU -> stock item, from Tally's stock items and WALMART_SKU_MAP."""
    return SkuResolver.build(((i.name, i.aliases, i.base_unit) for i in client.list_stock_items()), sku_map)


def wanted(orders: Iterable[Order], cfg: SalesConfig, known: set[str]) -> list[MasterWant]:
    """The party ledgers these orders need that Tally lacks, once each, under the ship node's group."""
    wants: dict[str, MasterWant] = {}
    for order in orders:
        try:
            name = party_for(order, cfg)
        except MappingError:
            continue  # the order itself fails at posting, naming the field
        if name not in known and name not in wants:
            group = party_group(order, cfg)
            wants[name] = MasterWant(party_ledger(name, order.customer_email or None, group), f"ledger:{name}",
                                     group, order.purchase_order_id)
    return list(wants.values())


def ensure(client: TallyClient, ledger: SyncLedger, cfg: SalesConfig, run_id: str, hook: AuditHook,
           sku_map: Mapping[str, str], orders: Iterable[Order]) -> Masters:
    """Read stock items and ledgers, create the party ledgers the orders need; report what was made."""
    known = {r.name for r in client.list_ledgers()}
    creator = MasterCreator(client, ledger, FLOW, run_id, lambda: {r.name for r in client.list_ledgers()},
                            audit=hook)
    report = creator.create(wanted(orders, cfg, known))
    known.update(report.created)
    failures = [{"purchase_order": f["needed_by"], "error": f"ledger {f['name']}: {f['error']}"}
                for f in report.failures]
    return Masters(resolver(client, sku_map), known, list(report.created), failures)
