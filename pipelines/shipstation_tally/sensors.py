"""The sensors that own the ShipStation polling cursors: order `modifyDate`, label create and void dates.

Each stream follows `pipelines.polling`: its position advances only past windows whose run
succeeded, and a window whose run failed (Tally unreachable, ShipStation 5xx or rate-limited past
the budget) is asked again with backoff until it succeeds. The label streams are the ShipStation
side's (`pipelines.sides.shipstation.labels`), shared with every flow that reads labels.
"""

import dagster as dg

from pipelines import polling
from pipelines.polling import PollCursor, instance_of, poll_stream
from pipelines.shipstation_tally.jobs import ORDERS_JOB as JOB_NAME
from pipelines.shipstation_tally.jobs import SHIPMENTS_JOB as SHIPMENTS_JOB_NAME
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.window import (
    DEFAULT_OVERLAP,
    ORDERS_STREAM,
    SHIPMENTS_OP,
    Window,
    legacy_orders_cursor,
    legacy_shipments_cursor,
    parse_instant,
    shipment_key,
)
from pipelines.sides.shipstation.labels import label_sensor
from resources import ShipStationResource

BACKOFF = polling.Backoff()


@dg.sensor(job_name=JOB_NAME, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def shipstation_orders_sensor(context: dg.SensorEvaluationContext, shipstation: ShipStationResource,
                              flow: ShipStationTallySettings) -> dg.SensorResult:
    """One cheap probe per tick (the newest modifyDate); a run per window, asked again until it succeeds."""
    cursor = PollCursor.load(context.cursor, legacy_orders_cursor)
    with shipstation.client() as client:
        tick = poll_stream(instance_of(context), cursor.stream(ORDERS_STREAM), now=polling.utcnow(),
                           default_start=parse_instant(flow.sync_start),
                           probe=lambda since: client.latest_modify_date(since=since),
                           key_for=lambda start, end: Window(start, end).run_key(), overlap=DEFAULT_OVERLAP,
                           backoff=BACKOFF)
    requests = [polling.run_request(tick.request, Window(tick.request.start, tick.request.end).run_config())
                ] if tick.request else []
    return polling.sensor_result(requests, cursor.with_stream(ORDERS_STREAM, tick.stream), [tick.note])


shipstation_shipments_sensor = label_sensor(
    "shipstation_shipments_sensor", job_name=SHIPMENTS_JOB_NAME, op=SHIPMENTS_OP, settings_key="flow",
    key_for=shipment_key, legacy=legacy_shipments_cursor)
