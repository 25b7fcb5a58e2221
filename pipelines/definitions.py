"""The ml-connector code location: one Definitions object for every flow."""

from __future__ import annotations

import os

import dagster as dg

from connectors.common.timezones import local_date
from ml_connector.config import Settings
from pipelines.reconciliation import assets as reconciliation
from pipelines.reconciliation.alert_sensors import operations_alerts_sensor, run_failure_alerts
from pipelines.shipstation_tally import inventory_assets, master_assets, shipment_assets
from pipelines.shipstation_tally import recon as shipstation_tally_recon
from pipelines.shipstation_tally.assets import ASSETS
from pipelines.shipstation_tally.jobs import inventory_job, masters_job, orders_job, shipments_job
from pipelines.shipstation_tally.queue_sensors import held_records_retry_sensor, shipstation_webhook_sensor
from pipelines.shipstation_tally.retry_sensors import transient_retry_sensor
from pipelines.shipstation_tally.sensors import shipstation_orders_sensor, shipstation_shipments_sensor
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import (
    AlertResource,
    ShipStationResource,
    ShipStationV2Resource,
    StateResource,
    TallyResource,
    stored,
)

shipstation_to_tally = orders_job  # the name the CLI and the README use for the main job

masters_schedule = dg.ScheduleDefinition(
    job=masters_job, cron_schedule="17 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly: snapshot ShipStation products/customers, create missing Tally masters, report the rest.",
)

inventory_schedule = dg.ScheduleDefinition(
    job=inventory_job, cron_schedule="*/30 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every 30 minutes: Tally closing stock per SKU -> ShipStation V2 inventory, where it differs.",
)


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources from settings; secrets stay `EnvVar`s or credential-store names, read at run time, never shown."""
    def secret(name: str) -> dg.EnvVar | str:
        if not getattr(settings, name.lower()).get_secret_value():
            return ""
        return dg.EnvVar(name) if os.environ.get(name) else stored(name)

    return {
        "shipstation": ShipStationResource(base_url=settings.shipstation_base_url,
                                           api_key=secret("SHIPSTATION_API_KEY") or dg.EnvVar("SHIPSTATION_API_KEY"),
                                           api_secret=secret("SHIPSTATION_API_SECRET")
                                           or dg.EnvVar("SHIPSTATION_API_SECRET")),
        "shipstation_v2": ShipStationV2Resource(
            base_url=settings.shipstation_v2_base_url, api_key=secret("SHIPSTATION_V2_API_KEY"),
            location_id=settings.shipstation_inventory_location_id),
        "tally": TallyResource(url=settings.tally_url, company=settings.tally_company,
                               agent_token=secret("TALLY_AGENT_TOKEN"), username=secret("TALLY_USERNAME"),
                               password=secret("TALLY_PASSWORD")),
        "state": StateResource(home=str(settings.ml_connector_home.resolve())),
        "alerts": AlertResource(webhook_url=secret("ALERT_WEBHOOK_URL")),
        "flow": ShipStationTallySettings(
            sync_start=settings.shipstation_sync_start.isoformat(),
            voucher_type=settings.tally_order_voucher_type, sales_ledger=settings.tally_sales_ledger,
            shipping_ledger=settings.tally_shipping_ledger, tax_ledger=settings.tally_tax_ledger,
            discount_ledger=settings.tally_discount_ledger, customer_group=settings.tally_customer_group,
            godown=settings.tally_godown, timezone=settings.tally_timezone,
            sku_map_path=str(settings.tally_sku_map or ""),
            delivery_note_type=settings.tally_delivery_note_type, delivery_godown=settings.tally_delivery_godown,
            create_missing_stock_items=settings.tally_create_missing_stock_items,
            stock_item_unit=settings.tally_stock_item_unit, stock_item_group=settings.tally_stock_item_group,
        ),
    }


def reconciliation_definitions(settings: Settings) -> tuple[list, list, list]:
    """Reconciliation assets, jobs and schedules; partitions start on the sync start's day in the books' zone."""
    start = local_date(settings.shipstation_sync_start, settings.tally_timezone)
    packs = [shipstation_tally_recon.rule_pack(order_voucher_type=settings.tally_order_voucher_type,
                                               note_voucher_type=settings.tally_delivery_note_type)]  # one per pair
    assets = reconciliation.build_reconciliation_assets(start, settings.tally_timezone, packs)
    daily = dg.define_asset_job(
        "reconciliation", selection=dg.AssetSelection.groups(reconciliation.GROUP) - dg.AssetSelection.assets(
            reconciliation.REPORT),
        description="Snapshot both sides for the day(s) and find every exception, record by record.")
    monthly = dg.define_asset_job("month_end_report", selection=dg.AssetSelection.assets(reconciliation.REPORT),
                                  description="The month's reconciliation report: HTML, CSV, .xlsx.")
    schedules = [
        dg.build_schedule_from_partitioned_job(daily, hour_of_day=2, default_status=dg.DefaultScheduleStatus.STOPPED),
        dg.build_schedule_from_partitioned_job(monthly, day_of_month=1, hour_of_day=6,
                                               default_status=dg.DefaultScheduleStatus.STOPPED),
    ]
    return assets, [daily, monthly], schedules


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    recon_assets, recon_jobs, recon_schedules = reconciliation_definitions(settings)
    return dg.Definitions(
        assets=[*ASSETS, *shipment_assets.ASSETS, *master_assets.ASSETS, *inventory_assets.ASSETS, *recon_assets],
        jobs=[orders_job, shipments_job, masters_job, inventory_job, *recon_jobs],
        schedules=[masters_schedule, inventory_schedule, *recon_schedules],
        sensors=[shipstation_orders_sensor, shipstation_shipments_sensor, shipstation_webhook_sensor,
                 held_records_retry_sensor, transient_retry_sensor, operations_alerts_sensor, run_failure_alerts],
        resources=build_resources(settings),
    )


defs = build_definitions()
