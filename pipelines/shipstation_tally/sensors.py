"""The sensor that owns the ShipStation `modifyDate` polling cursor for the order flow."""


import dagster as dg

from pipelines.shipstation_tally.window import dump_cursor, load_cursor, next_window, parse_instant
from resources import ShipStationResource, ShipStationTallySettings

JOB_NAME = "shipstation_to_tally"


@dg.sensor(job_name=JOB_NAME, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def shipstation_orders_sensor(context: dg.SensorEvaluationContext, shipstation: ShipStationResource,
                              flow: ShipStationTallySettings) -> dg.SensorResult | dg.SkipReason:
    """One cheap probe per tick (the newest modifyDate); a run per new window, keyed by the window."""
    cursor = load_cursor(context.cursor)
    start = parse_instant(flow.sync_start)
    with shipstation.client() as client:
        newest = client.latest_modify_date(since=cursor or start)
    if newest is None:
        return dg.SkipReason("no orders modified since the cursor")
    window = next_window(cursor, newest, start)
    if window is None:
        return dg.SkipReason(f"nothing newer than {cursor.isoformat() if cursor else 'the sync start'}")
    tags = {"ml-connector/window": f"{window.start.isoformat()}..{window.end.isoformat()}"}
    request = dg.RunRequest(run_key=window.run_key(), run_config=window.run_config(), tags=tags)
    return dg.SensorResult(run_requests=[request], cursor=dump_cursor(newest))
