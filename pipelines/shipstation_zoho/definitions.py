"""Everything the ShipStation -> Zoho Books pair adds to the code location."""

from pipelines.flow import PairDefinitions
from pipelines.shipstation_zoho import assets, contact_assets, recon, shipment_assets
from pipelines.shipstation_zoho.jobs import contacts_job, orders_job, shipments_job
from pipelines.shipstation_zoho.retry_sensors import transient_retry_sensor
from pipelines.shipstation_zoho.sensors import SENSORS
from pipelines.shipstation_zoho.settings import ShipStationZohoFlowSettings, ShipStationZohoSettings

RESOURCE_KEY = "zoho_flow"  # the Tally pair's flow resource is "flow"


def definitions(settings: ShipStationZohoFlowSettings) -> PairDefinitions:
    """The pair's assets, jobs, sensors, its flow-settings resource and its rule pack.

    `settings` is the application's `Settings` (it carries `shipstation_sync_start` too).
    """
    sync_start = getattr(settings, "shipstation_sync_start", None)
    return PairDefinitions(
        assets=[*assets.ASSETS, *shipment_assets.ASSETS, *contact_assets.ASSETS],
        jobs=[orders_job, shipments_job, contacts_job],
        sensors=[*SENSORS, transient_retry_sensor],
        resources={RESOURCE_KEY: ShipStationZohoSettings.from_settings(
            settings, sync_start.isoformat() if sync_start else "2026-01-01T00:00:00+00:00")},
        rule_packs=[recon.rule_pack()],
    )


