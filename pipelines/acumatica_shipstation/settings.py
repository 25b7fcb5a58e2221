"""The Acumatica <-> ShipStation flow's own settings (env model) and its Dagster resource (seen in run config).

The defaults are the mappings' (`OutboundConfig`, `InboundConfig`): one source for each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import dagster as dg
from pydantic import BaseModel, ConfigDict, field_validator

from pipelines.acumatica_shipstation.mapping import OutboundConfig
from pipelines.acumatica_shipstation.shipments import InboundConfig
from pipelines.windows import AwareInstant, parse_instant

_OUT, _IN = OutboundConfig(), InboundConfig()


class AcumaticaShipStationFlowSettings(BaseModel):
    """How Acumatica orders reach ShipStation and labels come back. Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    acumatica_sync_start: AwareInstant = datetime(2026, 1, 1, tzinfo=UTC)
    acumatica_order_types: str = "SO"  # comma-separated order types sent to ShipStation
    acumatica_ready_statuses: str = ",".join(sorted(_OUT.ready_statuses))  # fulfilment-ready statuses
    acumatica_payment_rule: Literal["captured", "none"] = _OUT.payment_rule
    fulfil_on: Literal["label", "carrier_scan"] = _IN.fulfil_on
    acumatica_warehouse_id: str = _IN.warehouse_id
    acumatica_box_id: str = _IN.box_id
    acumatica_ship_via_map: str = ""  # carrierCode=ShipVia pairs, comma-separated: stamps_com=USPS,ups=UPS
    acumatica_base_currency: str = _IN.base_currency
    shipstation_postage_currency: str = _IN.postage_currency
    acumatica_postage_rate: Decimal | None = None  # base-currency units per postage unit; unset: flag, do not guess
    acumatica_shipstation_store_id: int | None = None  # the ShipStation store orders go to; unset: the manual store
    acumatica_cost_tolerance: Decimal = Decimal("0.00")

    @field_validator("acumatica_postage_rate", "acumatica_shipstation_store_id", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        return None if value == "" else value


class AcumaticaShipStationSettings(dg.ConfigurableResource):
    """The flow's settings as a resource (strings, so they show in the UI)."""

    sync_start: str = "2026-01-01T00:00:00+00:00"
    order_types: str = "SO"
    ready_statuses: str = "Open"
    payment_rule: str = _OUT.payment_rule
    fulfil_on: str = _IN.fulfil_on
    warehouse_id: str = ""
    box_id: str = ""
    ship_via_map: str = ""
    base_currency: str = _IN.base_currency
    postage_currency: str = _IN.postage_currency
    postage_rate: str = ""
    store_id: int = 0
    cost_tolerance: str = "0.00"

    @classmethod
    def from_settings(cls, flow: AcumaticaShipStationFlowSettings) -> AcumaticaShipStationSettings:
        return cls(sync_start=flow.acumatica_sync_start.isoformat(), order_types=flow.acumatica_order_types,
                   ready_statuses=flow.acumatica_ready_statuses, payment_rule=flow.acumatica_payment_rule,
                   fulfil_on=flow.fulfil_on, warehouse_id=flow.acumatica_warehouse_id, box_id=flow.acumatica_box_id,
                   ship_via_map=flow.acumatica_ship_via_map, base_currency=flow.acumatica_base_currency,
                   postage_currency=flow.shipstation_postage_currency,
                   postage_rate=str(flow.acumatica_postage_rate or ""),
                   store_id=flow.acumatica_shipstation_store_id or 0, cost_tolerance=str(flow.acumatica_cost_tolerance))

    def start(self) -> datetime:
        return parse_instant(self.sync_start)

    def types(self) -> list[str]:
        return _list(self.order_types)

    def outbound(self) -> OutboundConfig:
        return OutboundConfig(ready_statuses=frozenset(_list(self.ready_statuses)),
                              payment_rule="none" if self.payment_rule == "none" else "captured",
                              store_id=self.store_id or None)

    def inbound(self) -> InboundConfig:
        pairs = (p.split("=", 1) for p in _list(self.ship_via_map) if "=" in p)
        return InboundConfig(fulfil_on="label" if self.fulfil_on == "label" else "carrier_scan",
                             warehouse_id=self.warehouse_id, box_id=self.box_id,
                             ship_via={k.strip(): v.strip() for k, v in pairs},
                             postage_currency=self.postage_currency, base_currency=self.base_currency,
                             postage_rate=Decimal(self.postage_rate) if self.postage_rate else None)


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
