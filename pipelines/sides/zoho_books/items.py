"""Zoho items by SKU (reference §6), remembered in the sync ledger so a run asks Zoho only about new SKUs.

Zoho's daily cap is small (1,000 to 10,000 calls), so the catalogue is not read every run: the first
run with an empty memory reads it whole (200 items a request) and records SKU -> item id in the
ledger (flow `zoho_books.items`); later runs look a SKU up there first, then `GET /items?sku=`, and
only then act on a missing item: ``missing="create"`` creates a sales item named after the order line
(rate = its price) — Zoho keeps SKUs unique, so a create whose answer was lost is found by SKU next
time, never made twice — and ``"hold"`` leaves the order unposted with a reason naming the SKU until
the item exists. A SKU Zoho holds twice is refused rather than guessed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from connectors.zoho_books.client import ZohoBooksClient
from pipelines.sides.errors import MappingError
from pipelines.sides.zoho_books import TARGET
from state.ledger import Candidate, SyncLedger, current_owner

MissingItems = Literal["create", "hold"]
HELD = "held: no Zoho item has SKU"
ITEMS_FLOW = "zoho_books.items"


class ItemCatalog:
    """SKU -> Zoho item id, from this run's memory, the ledger, then Zoho."""

    def __init__(self, client: ZohoBooksClient, missing: MissingItems = "create", *, ledger: SyncLedger | None = None,
                 run_id: str = "items") -> None:
        self.client, self.missing, self.ledger = client, missing, ledger
        self.owner = current_owner(run_id)
        self._ids: dict[str, str] = {}
        self.created: list[str] = []
        self.looked_up = 0
        self._complete = ledger is None or not ledger.counts(ITEMS_FLOW)  # read whole this run: a miss is missing
        if self._complete:
            self._load_all()

    def item_id(self, sku: str, *, name: str, rate: Decimal, record: str) -> str:
        """The item for `sku`, created first when missing and allowed; MappingError otherwise."""
        known = self._ids.get(sku) or self._remembered(sku)
        if known:
            return known
        found = self.client.find_items_by_sku(sku) if sku and not self._complete else []
        self.looked_up += not self._complete
        if len(found) > 1:
            raise MappingError(record, "items.sku", f"{len(found)} Zoho items share SKU {sku!r}")
        if found:
            return self._remember({sku: str(found[0]["item_id"])})[sku]
        if self.missing == "hold":
            raise MappingError(record, "items.sku", f"{HELD} {sku!r} (ZOHO_MISSING_ITEMS=hold)")
        body = {"name": name or sku, "sku": sku, "rate": max(rate, Decimal(0)), "item_type": "sales",
                "product_type": "goods"}
        item_id = str(self.client.create_item(body)["item_id"])
        self.created.append(sku)
        return self._remember({sku: item_id})[sku]

    def _load_all(self) -> None:
        by_sku: dict[str, list[str]] = {}
        for item in self.client.list_items():
            if item.get("sku"):
                by_sku.setdefault(str(item["sku"]).strip(), []).append(str(item["item_id"]))
        self._remember({sku: ids[0] for sku, ids in by_sku.items() if len(ids) == 1})

    def _remembered(self, sku: str) -> str | None:
        entry = self.ledger.get(ITEMS_FLOW, sku, TARGET) if self.ledger is not None and sku else None
        if entry is None or entry.state != "posted" or not entry.target_id:
            return None
        self._ids[sku] = entry.target_id
        return entry.target_id

    def _remember(self, ids: dict[str, str]) -> dict[str, str]:
        self._ids.update(ids)
        if self.ledger is not None and ids:
            cands = [Candidate(sku, sku, item_id) for sku, item_id in ids.items()]
            claims = self.ledger.claim(ITEMS_FLOW, TARGET, cands, self.owner)
            self.ledger.record_posted(ITEMS_FLOW, TARGET, [(c.source_id, ids[c.source_id], ids[c.source_id], False)
                                                           for c in claims if c.action != "skip"])
        return ids
