"""Settings of the Walmart -> TallyPrime flows (orders, returns, settlements) and their Dagster resource.

The defaults are the mapping's (`SalesConfig`, `SettlementLedgers`): one source for each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field

from connectors.tally.settings import MAX_VOUCHERS_PER_IMPORT
from pipelines.walmart_tally.mapping import SalesConfig, read_ship_node_map
from pipelines.walmart_tally.outbound_plan import read_walmart_sku_map
from pipelines.walmart_tally.settlement import SettlementLedgers, read_settlement_codes
from pipelines.windows import AwareInstant, OptionalPath

_SALES = SalesConfig()
_LEDGERS = SettlementLedgers()
PartyMode = Literal["customer", "marketplace"]


class WalmartTallyFlowSettings(BaseModel):
    """How Walmart orders, returns and settlements land in TallyPrime. Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    walmart_sync_start: AwareInstant = datetime(2026, 1, 1, tzinfo=UTC)
    tally_walmart_voucher_type: str = _SALES.voucher_type
    tally_walmart_credit_note_type: str = _SALES.credit_note_type
    tally_walmart_receipt_type: str = _LEDGERS.receipt_type
    tally_walmart_journal_type: str = _LEDGERS.journal_type
    tally_walmart_party_mode: PartyMode = "customer"
    tally_walmart_customer_group: str = _SALES.customer_group
    tally_walmart_sales_ledger: str = _SALES.sales_ledger
    tally_walmart_shipping_ledger: str = _SALES.shipping_ledger
    tally_walmart_tax_ledger: str = _SALES.tax_ledger
    tally_walmart_godown: str = _SALES.godown
    tally_walmart_marketplace_ledger: str = _SALES.marketplace_ledger
    tally_walmart_bank_ledger: str = _LEDGERS.bank
    tally_walmart_commission_ledger: str = _LEDGERS.commission
    tally_walmart_fee_ledger: str = _LEDGERS.fee
    tally_walmart_adjustment_ledger: str = _LEDGERS.adjustment
    walmart_ship_node_map: OptionalPath = None  # CSV ship_node,cost_centre,ledger_group
    walmart_settlement_codes: OptionalPath = None  # CSV transaction_type,amount_type,ledger (=role or a ledger)
    walmart_acknowledge_orders: bool = False  # acknowledge a PO once its Sales voucher exists
    walmart_settlement_report_version: Literal["v1", "legacy"] = "v1"
    tally_walmart_batch_ceiling: int = Field(default=MAX_VOUCHERS_PER_IMPORT, ge=1, le=500)


class WalmartTallySettings(dg.ConfigurableResource):
    """The flow's settings as a resource (seen in the UI's run config); builds the mapping's configs."""

    sync_start: str = "2026-01-01T00:00:00+00:00"
    voucher_type: str = _SALES.voucher_type
    credit_note_type: str = _SALES.credit_note_type
    receipt_type: str = _LEDGERS.receipt_type
    journal_type: str = _LEDGERS.journal_type
    party_mode: str = "customer"
    customer_group: str = _SALES.customer_group
    sales_ledger: str = _SALES.sales_ledger
    shipping_ledger: str = _SALES.shipping_ledger
    tax_ledger: str = _SALES.tax_ledger
    godown: str = _SALES.godown
    marketplace_ledger: str = _SALES.marketplace_ledger
    bank_ledger: str = _LEDGERS.bank
    commission_ledger: str = _LEDGERS.commission
    fee_ledger: str = _LEDGERS.fee
    adjustment_ledger: str = _LEDGERS.adjustment
    timezone: str = _SALES.timezone
    ship_node_map_path: str = ""
    settlement_codes_path: str = ""
    sku_map_path: str = ""
    acknowledge_orders: bool = False
    report_version: str = "v1"
    batch_size: int = Field(default=25, ge=1, le=500)
    batch_ceiling: int = Field(default=MAX_VOUCHERS_PER_IMPORT, ge=1, le=500)

    @classmethod
    def from_settings(cls, flow: WalmartTallyFlowSettings, timezone: str,
                      sku_map: Path | str | None = None) -> WalmartTallySettings:
        """The resource from the flow's environment settings and the books' time zone."""
        return cls(
            sync_start=flow.walmart_sync_start.isoformat(), voucher_type=flow.tally_walmart_voucher_type,
            credit_note_type=flow.tally_walmart_credit_note_type, receipt_type=flow.tally_walmart_receipt_type,
            journal_type=flow.tally_walmart_journal_type, party_mode=flow.tally_walmart_party_mode,
            customer_group=flow.tally_walmart_customer_group, sales_ledger=flow.tally_walmart_sales_ledger,
            shipping_ledger=flow.tally_walmart_shipping_ledger, tax_ledger=flow.tally_walmart_tax_ledger,
            godown=flow.tally_walmart_godown, marketplace_ledger=flow.tally_walmart_marketplace_ledger,
            bank_ledger=flow.tally_walmart_bank_ledger, commission_ledger=flow.tally_walmart_commission_ledger,
            fee_ledger=flow.tally_walmart_fee_ledger, adjustment_ledger=flow.tally_walmart_adjustment_ledger,
            timezone=timezone, ship_node_map_path=str(flow.walmart_ship_node_map or ""),
            settlement_codes_path=str(flow.walmart_settlement_codes or ""), sku_map_path=str(sku_map or ""),
            acknowledge_orders=flow.walmart_acknowledge_orders,
            report_version=flow.walmart_settlement_report_version,
            batch_size=min(25, flow.tally_walmart_batch_ceiling), batch_ceiling=flow.tally_walmart_batch_ceiling)

    def sales_config(self) -> SalesConfig:
        return SalesConfig(
            voucher_type=self.voucher_type, credit_note_type=self.credit_note_type,
            party_mode="marketplace" if self.party_mode == "marketplace" else "customer",
            customer_group=self.customer_group, sales_ledger=self.sales_ledger,
            shipping_ledger=self.shipping_ledger, tax_ledger=self.tax_ledger, godown=self.godown,
            marketplace_ledger=self.marketplace_ledger, timezone=self.timezone,
            ship_nodes=read_ship_node_map(self.ship_node_map_path or None))

    def settlement_ledgers(self) -> SettlementLedgers:
        return SettlementLedgers(
            receipt_type=self.receipt_type, journal_type=self.journal_type, bank=self.bank_ledger,
            commission=self.commission_ledger, fee=self.fee_ledger, adjustment=self.adjustment_ledger,
            clearing=self.marketplace_ledger, tax=self.tax_ledger,
            codes=read_settlement_codes(Path(self.settlement_codes_path) if self.settlement_codes_path else None))

    def sku_map(self) -> dict[str, str]:
        """Walmart SKU -> stock item: WALMART_SKU_MAP (`stock_item,sku`, shared with the outbound flow) read back."""
        return {sku: item for item, skus in read_walmart_sku_map(self.sku_map_path or None).items() for sku in skus}
