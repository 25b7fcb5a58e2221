"""The ShipStation -> TallyPrime flow's own settings, as a Dagster resource (seen in the UI's run config).

The defaults are the mapping's (`OrderVoucherConfig`, `DeliveryNoteConfig`): one source for each.
"""

import csv

import dagster as dg
from pydantic import Field

from pipelines.shipstation_tally.delivery import DeliveryNoteConfig
from pipelines.shipstation_tally.mapping import OrderVoucherConfig

_VOUCHER = OrderVoucherConfig()  # the mapping owns the defaults of every voucher setting


class ShipStationTallySettings(dg.ConfigurableResource):
    """How orders land in TallyPrime: voucher type, ledgers, godown, time zone, SKU map."""

    sync_start: str = "2026-01-01T00:00:00+00:00"
    voucher_type: str = _VOUCHER.voucher_type
    sales_ledger: str = _VOUCHER.sales_ledger
    shipping_ledger: str = _VOUCHER.shipping_ledger
    tax_ledger: str = _VOUCHER.tax_ledger
    discount_ledger: str = _VOUCHER.discount_ledger
    customer_group: str = "Sundry Debtors"
    godown: str = _VOUCHER.godown
    timezone: str = _VOUCHER.timezone
    sku_map_path: str = ""
    batch_size: int = Field(default=25, ge=1, le=100)
    delivery_note_type: str = DeliveryNoteConfig.voucher_type
    delivery_godown: str = ""  # empty: the order godown
    create_missing_stock_items: bool = False
    stock_item_unit: str = "Nos"
    stock_item_group: str = ""  # empty: Primary

    def delivery_note_config(self) -> DeliveryNoteConfig:
        return DeliveryNoteConfig(voucher_type=self.delivery_note_type, godown=self.delivery_godown or self.godown,
                                  sales_ledger=self.sales_ledger, timezone=self.timezone)

    def voucher_config(self) -> OrderVoucherConfig:
        return OrderVoucherConfig(
            voucher_type=self.voucher_type, sales_ledger=self.sales_ledger,
            shipping_ledger=self.shipping_ledger, tax_ledger=self.tax_ledger,
            discount_ledger=self.discount_ledger, godown=self.godown, timezone=self.timezone,
        )

    def sku_map(self) -> dict[str, str]:
        """The optional `sku,stock_item` CSV (TALLY_SKU_MAP); a header row is allowed."""
        if not self.sku_map_path:
            return {}
        mapping: dict[str, str] = {}
        with open(self.sku_map_path, newline="", encoding="utf-8-sig") as handle:
            for line, row in enumerate(csv.reader(handle), start=1):
                if not row or row[0].strip().lower() == "sku":
                    continue
                if len(row) < 2 or not row[1].strip():
                    raise ValueError(f"TALLY_SKU_MAP line {line}: expected 'sku,stock_item', got {row!r}")
                mapping[row[0].strip()] = row[1].strip()
        return mapping
