"""The ml-connector code location: one Definitions object for every flow."""

from __future__ import annotations

import dagster as dg

from ml_connector.config import Settings
from pipelines.shipstation_tally.assets import ASSETS, GROUP
from pipelines.shipstation_tally.sensors import JOB_NAME, shipstation_orders_sensor
from resources import ShipStationResource, ShipStationTallySettings, StateResource, TallyResource

shipstation_to_tally = dg.define_asset_job(
    JOB_NAME, selection=dg.AssetSelection.groups(GROUP),
    description="ShipStation orders -> TallyPrime order vouchers (stage, masters, ledgers, vouchers).",
)


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources from settings; secrets stay `EnvVar`s so they are read at run time and never shown."""
    token = dg.EnvVar("TALLY_AGENT_TOKEN") if settings.tally_agent_token.get_secret_value() else ""
    return {
        "shipstation": ShipStationResource(base_url=settings.shipstation_base_url,
                                           api_key=dg.EnvVar("SHIPSTATION_API_KEY"),
                                           api_secret=dg.EnvVar("SHIPSTATION_API_SECRET")),
        "tally": TallyResource(url=settings.tally_url, company=settings.tally_company, agent_token=token),
        "state": StateResource(home=str(settings.ml_connector_home.resolve())),
        "flow": ShipStationTallySettings(
            sync_start=settings.shipstation_sync_start.isoformat(),
            voucher_type=settings.tally_order_voucher_type, sales_ledger=settings.tally_sales_ledger,
            shipping_ledger=settings.tally_shipping_ledger, tax_ledger=settings.tally_tax_ledger,
            discount_ledger=settings.tally_discount_ledger, customer_group=settings.tally_customer_group,
            godown=settings.tally_godown, timezone=settings.tally_timezone,
            sku_map_path=str(settings.tally_sku_map or ""),
        ),
    }


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS, jobs=[shipstation_to_tally], sensors=[shipstation_orders_sensor],
        resources=build_resources(settings or Settings.from_env()),
    )


defs = build_definitions()
