"""The ShipStation -> Zoho Books flows' own settings, as a Dagster resource (seen in the UI's run config).

The account settings take a Zoho account id or an account name (resolved once per run through the
chart of accounts). The sync start is the ShipStation one (`SHIPSTATION_SYNC_START`).
"""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field

from pipelines.shipstation_zoho.mapping import InvoiceConfig

_INVOICE = InvoiceConfig()


class ShipStationZohoFlowSettings(BaseModel):
    """How ShipStation orders, customers and labels land in Zoho Books. Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    zoho_missing_items: Literal["create", "hold"] = "create"
    zoho_shipping_journal: Literal["per_label", "daily"] = "per_label"
    zoho_shipping_expense_account: str = "Shipping Expense"
    zoho_shipping_clearing_account: str = "ShipStation Clearing"
    zoho_invoice_unique_field: str = _INVOICE.unique_field
    zoho_tracking_field: str = _INVOICE.tracking_field
    zoho_timezone: str = _INVOICE.timezone
    zoho_tax_mode: Literal["adjustment", "item"] = "adjustment"
    zoho_batch_size: int = Field(default=10, ge=1, le=200)


class ShipStationZohoSettings(dg.ConfigurableResource):
    """How orders become invoices and labels journals in Zoho Books."""

    sync_start: str = "2026-01-01T00:00:00+00:00"
    missing_items: str = "create"
    shipping_journal: str = "per_label"
    shipping_expense_account: str = "Shipping Expense"
    shipping_clearing_account: str = "ShipStation Clearing"
    invoice_unique_field: str = ""
    tracking_field: str = ""
    timezone: str = "UTC"
    tax_mode: str = "adjustment"
    batch_size: int = Field(default=10, ge=1, le=200)

    @classmethod
    def from_settings(cls, flow: ShipStationZohoFlowSettings, sync_start: str) -> ShipStationZohoSettings:
        return cls(sync_start=sync_start, missing_items=flow.zoho_missing_items,
                   shipping_journal=flow.zoho_shipping_journal,
                   shipping_expense_account=flow.zoho_shipping_expense_account,
                   shipping_clearing_account=flow.zoho_shipping_clearing_account,
                   invoice_unique_field=flow.zoho_invoice_unique_field, tracking_field=flow.zoho_tracking_field,
                   timezone=flow.zoho_timezone, tax_mode=flow.zoho_tax_mode, batch_size=flow.zoho_batch_size)

    def invoice_config(self) -> InvoiceConfig:
        return InvoiceConfig(timezone=self.timezone, unique_field=self.invoice_unique_field,
                             tracking_field=self.tracking_field, tax_mode=self.tax_mode)
