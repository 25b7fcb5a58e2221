"""The sensors that own the ShipStation polling cursors: order `modifyDate`, label create and void dates."""

from datetime import UTC, datetime

import dagster as dg

from connectors.common.timezones import format_pacific_filter
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.paginate import record_date
from pipelines.shipstation_tally.jobs import ORDERS_JOB as JOB_NAME
from pipelines.shipstation_tally.jobs import SHIPMENTS_JOB as SHIPMENTS_JOB_NAME
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.window import (
    ShipmentCursor,
    dump_cursor,
    load_cursor,
    next_window,
    parse_instant,
    shipment_run,
)
from resources import ShipStationResource


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


@dg.sensor(job_name=SHIPMENTS_JOB_NAME, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def shipstation_shipments_sensor(context: dg.SensorEvaluationContext, shipstation: ShipStationResource,
                                 flow: ShipStationTallySettings) -> dg.SensorResult | dg.SkipReason:
    """Polls labels by createDate and voids by voidDate (webhooks never announce voids, reference §4)."""
    cursor = ShipmentCursor.load(context.cursor)
    start = parse_instant(flow.sync_start)
    with shipstation.client() as client:
        newest_create = newest_shipment_date(client, cursor.create or start, "create")
        newest_void = newest_shipment_date(client, cursor.void or start, "void")
    created = next_window(cursor.create, newest_create, start) if newest_create else None
    voided = next_window(cursor.void, newest_void, start) if newest_void else None
    if created is None and voided is None:
        return dg.SkipReason("no labels created or voided since the cursor")
    run_key, run_config = shipment_run(created, voided, datetime.now(UTC))
    advanced = ShipmentCursor(max(filter(None, [cursor.create, newest_create]), default=None),
                              max(filter(None, [cursor.void, newest_void]), default=None))
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, run_config=run_config)],
                           cursor=advanced.dump())


def newest_shipment_date(client: ShipStationClient, since: datetime, by: str) -> datetime | None:
    """The newest createDate (one cheap request) or voidDate (voids are few: read them) at or after `since`."""
    field = "createDate" if by == "create" else "voidDate"
    if by == "create":
        reply = client.get_json("/shipments", {"createDateStart": format_pacific_filter(since),
                                               "sortBy": "CreateDate", "sortDir": "DESC", "pageSize": 1})
        rows = reply.get("shipments") or []
    else:
        rows = [r for page in client.iter_shipment_pages_raw(since, by="void", include_items=False) for r in page]
    dates = [record_date(r, field, ("shipmentId",)) for r in rows if r.get(field)]
    return max(dates, default=None)
