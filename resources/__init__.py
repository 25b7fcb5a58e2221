"""Dagster resources: read configuration and hand out connector clients and the state stores.

No conversion code lives here (that is in `pipelines/<flow>/mapping.py`) and nothing here knows
whether it talks to the sandbox or a live system: only the configured URLs and credentials differ.
"""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
from pydantic import Field

from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.v2 import ShipStationV2Client
from connectors.tally.client import TallyClient
from ml_connector.audit_hook import AuditHook
from ml_connector.ledger import SyncLedger
from ml_connector.staging import StagingStore
from pipelines.shipstation_tally.delivery import DeliveryNoteConfig
from pipelines.shipstation_tally.mapping import OrderVoucherConfig

_VOUCHER = OrderVoucherConfig()  # the mapping owns the defaults of every voucher setting


class ShipStationResource(dg.ConfigurableResource):
    """ShipStation V1 (Basic auth with an API key pair)."""

    base_url: str = "https://ssapi.shipstation.com"
    api_key: str
    api_secret: str
    timeout_seconds: float = 30.0

    def client(self) -> ShipStationClient:
        return ShipStationClient(base_url=self.base_url, api_key=self.api_key, api_secret=self.api_secret,
                                 timeout=self.timeout_seconds)


class ShipStationV2Resource(dg.ConfigurableResource):
    """ShipStation V2 (`API-Key` header): inventory levels. `location_id` empty: the first inventory location."""

    base_url: str = "https://api.shipstation.com"
    api_key: str
    location_id: str = ""
    timeout_seconds: float = 30.0

    def client(self) -> ShipStationV2Client:
        return ShipStationV2Client(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_seconds)


class TallyResource(dg.ConfigurableResource):
    """TallyPrime, directly on port 9000 or through the ml-connector LAN agent.

    Every asset that uses it for writing belongs to the Dagster pool `tally` (limit 1), so no two
    steps of any run talk to Tally at once; the agent's own queue is the second line of defence.
    """

    url: str = "http://127.0.0.1:9000"
    company: str
    agent_token: str = ""
    # Above the agent's own 120 s bound plus queueing, so the agent answers before we give up.
    timeout_seconds: float = 180.0

    def client(self, audit: AuditHook | None = None) -> TallyClient:
        return TallyClient(self.url, self.company, token=self.agent_token or None,
                           timeout=self.timeout_seconds, on_exchange=audit)


class AlertResource(dg.ConfigurableResource):
    """Where operations alerts go: a Slack-style incoming-webhook URL (secret), or the Dagster log when empty."""

    webhook_url: str = ""


class StateResource(dg.ConfigurableResource):
    """The state directory: sync ledger + audit trail (SQLite) and staged snapshots (DuckDB)."""

    home: str = ".ml-connector"

    def ledger(self) -> SyncLedger:
        return SyncLedger(Path(self.home) / "ledger.sqlite3")

    def staging(self) -> StagingStore:
        return StagingStore(Path(self.home) / "staging.duckdb")


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
