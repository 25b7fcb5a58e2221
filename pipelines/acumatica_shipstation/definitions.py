"""Everything the Acumatica <-> ShipStation pair adds to the code location."""

from decimal import Decimal

import dagster as dg

from pipelines.acumatica_shipstation import recon
from pipelines.acumatica_shipstation.assets import ASSETS
from pipelines.acumatica_shipstation.jobs import confirm_job, freight_job, orders_job, shipments_job
from pipelines.acumatica_shipstation.retry_sensors import transient_retry_sensor
from pipelines.acumatica_shipstation.sensors import (
    acumatica_labels_sensor,
    acumatica_orders_sensor,
    acumatica_ship_notify_sensor,
)
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationFlowSettings, AcumaticaShipStationSettings
from pipelines.flow import PairDefinitions

confirm_schedule = dg.ScheduleDefinition(
    job=confirm_job, cron_schedule="*/30 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every 30 minutes: confirm Acumatica shipments whose parcels the carrier has scanned since.")
freight_schedule = dg.ScheduleDefinition(
    job=freight_job, cron_schedule="30 3 * * *", execution_timezone="America/Los_Angeles",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: yesterday's label costs onto their Acumatica shipments, in the books' currency.")


def definitions(settings: AcumaticaShipStationFlowSettings) -> PairDefinitions:
    """The pair's assets, jobs, schedules, sensors, its flow-settings resource and its rule pack.

    The Acumatica connection resource (`acumatica`) is the application's (resources/), built from
    `AcumaticaSettings`; this pair adds only `acumatica_flow`.
    """
    return PairDefinitions(
        assets=ASSETS, jobs=[orders_job, shipments_job, confirm_job, freight_job],
        schedules=[confirm_schedule, freight_schedule],
        sensors=[acumatica_orders_sensor, acumatica_labels_sensor, acumatica_ship_notify_sensor,
                 transient_retry_sensor],
        resources={"acumatica_flow": AcumaticaShipStationSettings.from_settings(settings)},
        rule_packs=[recon.rule_pack(store_currency=settings.shipstation_postage_currency,
                                    postage_rate=settings.acumatica_postage_rate or Decimal(1),
                                    cost_tolerance=settings.acumatica_cost_tolerance)],
    )
