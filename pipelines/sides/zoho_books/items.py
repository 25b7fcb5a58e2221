"""Zoho items by SKU (reference §6): read once per run, missing ones created or held back.

``missing="create"`` creates a sales item named after the order line (rate = its price) the first
time a SKU is met; ``"hold"`` leaves the order unposted with a reason naming the SKU until the item
exists in Zoho. A SKU Zoho holds twice (it should be unique) is refused rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Literal

from connectors.zoho_books.client import ZohoBooksClient
from pipelines.sides.errors import MappingError

MissingItems = Literal["create", "hold"]
HELD = "held: no Zoho item has SKU"


class ItemCatalog:
    """SKU -> Zoho item id for one run."""

    def __init__(self, client: ZohoBooksClient, missing: MissingItems = "create") -> None:
        self.client, self.missing = client, missing
        self._ids: dict[str, list[str]] = defaultdict(list)
        for item in client.list_items():
            if item.get("sku"):
                self._ids[str(item["sku"]).strip()].append(str(item["item_id"]))
        self.created: list[str] = []

    def item_id(self, sku: str, *, name: str, rate: Decimal, record: str) -> str:
        """The item for `sku`, created first when missing and allowed; MappingError otherwise."""
        ids = self._ids.get(sku, [])
        if len(ids) > 1:
            raise MappingError(record, "items.sku", f"{len(ids)} Zoho items share SKU {sku!r}")
        if ids:
            return ids[0]
        if self.missing == "hold":
            raise MappingError(record, "items.sku", f"{HELD} {sku!r} (ZOHO_MISSING_ITEMS=hold)")
        body = {"name": name or sku, "sku": sku, "rate": max(rate, Decimal(0)), "item_type": "sales",
                "product_type": "goods"}
        item_id = str(self.client.create_item(body)["item_id"])
        self._ids[sku].append(item_id)
        self.created.append(sku)
        return item_id
