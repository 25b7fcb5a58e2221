"""The ShipStation -> TallyPrime flow's own settings, as a Dagster resource (seen in the UI's run config).

The defaults are the mapping's (`OrderVoucherConfig`, `DeliveryNoteConfig`): one source for each.
"""

from datetime import UTC, datetime

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field

from connectors.tally.settings import MAX_VOUCHERS_PER_IMPORT
from pipelines.shipstation_tally.delivery import DeliveryNoteConfig
from pipelines.shipstation_tally.mapping import OrderVoucherConfig
from pipelines.sides.tally.skus import read_sku_map
from pipelines.windows import AwareInstant, OptionalPath

_VOUCHER = OrderVoucherConfig()  # the mapping owns the defaults of every voucher setting
_NOTE = DeliveryNoteConfig()


class ShipStationTallyFlowSettings(BaseModel):
    """How ShipStation orders and labels land in TallyPrime. Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    shipstation_sync_start: AwareInstant = datetime(2026, 1, 1, tzinfo=UTC)
    tally_order_voucher_type: str = _VOUCHER.voucher_type
    tally_sales_ledger: str = _VOUCHER.sales_ledger
    tally_shipping_ledger: str = _VOUCHER.shipping_ledger
    tally_tax_ledger: str = _VOUCHER.tax_ledger
    tally_discount_ledger: str = _VOUCHER.discount_ledger
    tally_customer_group: str = "Sundry Debtors"
    tally_godown: str = _VOUCHER.godown
    tally_sku_map: OptionalPath = None
    tally_delivery_note_type: str = _NOTE.voucher_type
    tally_delivery_godown: str = ""  # empty: TALLY_GODOWN
    tally_create_missing_stock_items: bool = False
    tally_stock_item_unit: str = "Nos"
    tally_stock_item_group: str = ""  # empty: Primary
    tally_batch_ceiling: int = Field(default=MAX_VOUCHERS_PER_IMPORT, ge=1, le=500)  # vouchers per import, at most
    tally_map_orders_in_helper: bool = True  # a run of over 500 orders maps them in a second process


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
    batch_size: int = Field(default=25, ge=1, le=500)  # the first import's size; it adapts up to batch_ceiling
    batch_ceiling: int = Field(default=MAX_VOUCHERS_PER_IMPORT, ge=1, le=500)
    map_orders_in_helper: bool = True  # `pipelines.posting.ahead`: a second core maps while this one posts
    delivery_note_type: str = DeliveryNoteConfig.voucher_type
    delivery_godown: str = ""  # empty: the order godown
    create_missing_stock_items: bool = False
    stock_item_unit: str = "Nos"
    stock_item_group: str = ""  # empty: Primary

    @classmethod
    def from_settings(cls, flow: ShipStationTallyFlowSettings, timezone: str) -> "ShipStationTallySettings":
        """The resource from the flow's environment settings and the books' time zone."""
        return cls(
            sync_start=flow.shipstation_sync_start.isoformat(), voucher_type=flow.tally_order_voucher_type,
            sales_ledger=flow.tally_sales_ledger, shipping_ledger=flow.tally_shipping_ledger,
            tax_ledger=flow.tally_tax_ledger, discount_ledger=flow.tally_discount_ledger,
            customer_group=flow.tally_customer_group, godown=flow.tally_godown, timezone=timezone,
            sku_map_path=str(flow.tally_sku_map or ""), delivery_note_type=flow.tally_delivery_note_type,
            delivery_godown=flow.tally_delivery_godown,
            create_missing_stock_items=flow.tally_create_missing_stock_items,
            stock_item_unit=flow.tally_stock_item_unit, stock_item_group=flow.tally_stock_item_group,
            batch_size=min(25, flow.tally_batch_ceiling), batch_ceiling=flow.tally_batch_ceiling,
            map_orders_in_helper=flow.tally_map_orders_in_helper)

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
        return read_sku_map(self.sku_map_path)
