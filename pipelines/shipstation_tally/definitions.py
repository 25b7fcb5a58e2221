"""Everything the ShipStation <-> TallyPrime pair adds to the code location."""

import dagster as dg

from connectors.tally.settings import TallySettings
from pipelines.flow import PairDefinitions
from pipelines.shipstation_tally import inventory_assets, master_assets, recon, shipment_assets
from pipelines.shipstation_tally.assets import ASSETS
from pipelines.shipstation_tally.jobs import inventory_job, masters_job, orders_job, shipments_job
from pipelines.shipstation_tally.queue_sensors import held_records_retry_sensor, shipstation_webhook_sensor
from pipelines.shipstation_tally.retry_sensors import transient_retry_sensor
from pipelines.shipstation_tally.sensors import shipstation_orders_sensor, shipstation_shipments_sensor
from pipelines.shipstation_tally.settings import ShipStationTallyFlowSettings, ShipStationTallySettings

masters_schedule = dg.ScheduleDefinition(
    job=masters_job, cron_schedule="17 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly: snapshot ShipStation products/customers, create missing Tally masters, report the rest.",
)

inventory_schedule = dg.ScheduleDefinition(
    job=inventory_job, cron_schedule="*/30 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every 30 minutes: Tally closing stock per SKU -> ShipStation V2 inventory, where it differs.",
)


def definitions(flow: ShipStationTallyFlowSettings, tally: TallySettings) -> PairDefinitions:
    """The pair's assets, jobs, schedules, sensors, its flow-settings resource and its rule pack."""
    return PairDefinitions(
        assets=[*ASSETS, *shipment_assets.ASSETS, *master_assets.ASSETS, *inventory_assets.ASSETS],
        jobs=[orders_job, shipments_job, masters_job, inventory_job],
        schedules=[masters_schedule, inventory_schedule],
        sensors=[shipstation_orders_sensor, shipstation_shipments_sensor, shipstation_webhook_sensor,
                 held_records_retry_sensor, transient_retry_sensor],
        resources={"flow": ShipStationTallySettings.from_settings(flow, tally.tally_timezone)},
        rule_packs=[recon.rule_pack(order_voucher_type=flow.tally_order_voucher_type,
                                    note_voucher_type=flow.tally_delivery_note_type)],
    )
