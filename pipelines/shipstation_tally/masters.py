"""Master data alignment between ShipStation and TallyPrime: what is missing, and creating it.

Pure parts first: which ShipStation SKUs have no Tally stock item (through the same resolver the
vouchers use: TALLY_SKU_MAP, exact name, alias), which customers have no party ledger (named as
order vouchers name them), and which failed records were held back by a master that now exists.
Creating stock items is opt-in (TALLY_CREATE_MISSING_STOCK_ITEMS): a new item is named by its SKU
(reference §4, SKU mapping option (a)) with the product name as its description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.tally.client import TallyClient
from pipelines.sides.tally.masters import MasterCreator, MasterWant, party_ledger_name, stock_item
from pipelines.sides.tally.skus import SkuResolver
from state.audit_hook import AuditHook
from state.ledger import SyncLedger

STOCK_ITEM_FLOW = "shipstation_tally.stock_items"

# Errors that name a missing master: ours (mapping) and TallyPrime's (reference §5).
_MISSING = (
    ("sku", re.compile(r"""SKU (['"])(?P<name>.+?)\1 has no stock item""")),
    ("ledger", re.compile(r"""party ledger (['"])(?P<name>.+?)\1 does not exist""")),
    ("item", re.compile(r"""Stock Item (['"])(?P<name>.+?)\1 does not exist""")),
    ("ledger", re.compile(r"""Ledger (['"])(?P<name>.+?)\1 does not exist""")),
)


@dataclass(frozen=True)
class MissingMaster:
    kind: str  # sku | ledger | item
    name: str


@dataclass
class Alignment:
    skus_without_item: list[tuple[str, str | None]] = field(default_factory=list)
    customers_without_ledger: list[tuple[str, str | None, str]] = field(default_factory=list)


def customer_ledger(name: str | None, email: str | None) -> str | None:
    """The party ledger name a customer's orders use (see mapping.customer_ledger_name)."""
    return party_ledger_name(name, email)


def align(products: Iterable[tuple[str, str | None, bool]], customers: Iterable[tuple[int | None, str | None,
          str | None]], skus: SkuResolver, ledgers: set[str]) -> Alignment:
    """Every active SKU with no stock item and every customer with no ledger (each once)."""
    out, seen = Alignment(), set()
    for sku, name, active in products:
        if sku and active and skus.resolve(sku) is None:
            out.skus_without_item.append((sku, name))
    for customer_id, name, email in customers:
        ledger = customer_ledger(name, email)
        if ledger and ledger not in ledgers and ledger not in seen:
            seen.add(ledger)
            out.customers_without_ledger.append((ledger, email, f"customer {customer_id}"))
    return out


def missing_master(error: str | None) -> MissingMaster | None:
    """The master an error says was missing, if it says so."""
    for kind, pattern in _MISSING:
        if error and (found := pattern.search(error)):
            return MissingMaster(kind, found.group("name"))
    return None


def master_exists(missing: MissingMaster, skus: SkuResolver, ledgers: set[str], items: set[str]) -> bool:
    if missing.kind == "sku":
        return skus.resolve(missing.name) is not None
    if missing.kind == "item":
        return missing.name in items
    return missing.name in ledgers


@dataclass
class StockItemReport:
    created: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)


class StockItemCreator:
    """Creates stock items named by SKU under the configured group and unit (the Tally side creates them)."""

    def __init__(self, tally: TallyClient, ledger: SyncLedger, unit: str, group: str | None, run_id: str,
                 *, batch_size: int = 25, audit: AuditHook | None = None) -> None:
        self.unit, self.group = unit, group or None
        self._creator = MasterCreator(tally, ledger, STOCK_ITEM_FLOW, run_id,
                                      lambda: {r.name for r in tally.list_stock_items()},
                                      batch_size=batch_size, audit=audit)
        self.report = StockItemReport()

    def create(self, skus: Iterable[tuple[str, str | None]]) -> StockItemReport:
        version = f"{self.unit}|{self.group}"
        report = self._creator.create(MasterWant(stock_item(sku, name, self.unit, self.group), f"stock-item:{sku}",
                                                 version) for sku, name in skus)
        self.report.created = list(report.created)
        self.report.failures = [{"sku": f["name"], "error": f["error"]} for f in report.failures]
        return self.report
