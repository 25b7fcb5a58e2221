"""The sensors that own the ShipStation polling cursors: order `modifyDate`, label create and void dates.

Each stream follows `pipelines.polling`: its position advances only past windows whose run
succeeded, and a window whose run failed (Tally unreachable, ShipStation 5xx or rate-limited past
the budget) is asked again with backoff until it succeeds.
"""

from datetime import datetime

import dagster as dg

from pipelines import polling
from pipelines.polling import PollCursor, Requested, StreamTick, instance_of, poll_stream
from pipelines.shipstation_tally.jobs import ORDERS_JOB as JOB_NAME
from pipelines.shipstation_tally.jobs import SHIPMENTS_JOB as SHIPMENTS_JOB_NAME
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.window import (
    CREATE_STREAM,
    DEFAULT_OVERLAP,
    ORDERS_STREAM,
    VOID_STREAM,
    Window,
    legacy_orders_cursor,
    legacy_shipments_cursor,
    parse_instant,
    shipment_key,
    shipment_run,
)
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
    requests = [_order_request(tick.request)] if tick.request else []
    return _result(requests, cursor.with_stream(ORDERS_STREAM, tick.stream), [tick])


@dg.sensor(job_name=SHIPMENTS_JOB_NAME, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def shipstation_shipments_sensor(context: dg.SensorEvaluationContext, shipstation: ShipStationResource,
                                 flow: ShipStationTallySettings) -> dg.SensorResult:
    """Polls labels by createDate and voids by voidDate (webhooks never announce voids, reference §4)."""
    cursor = PollCursor.load(context.cursor, legacy_shipments_cursor)
    start, now, instance = parse_instant(flow.sync_start), polling.utcnow(), instance_of(context)
    ticks, requests = [], []
    with shipstation.client() as client:
        for by in (CREATE_STREAM, VOID_STREAM):
            tick = poll_stream(instance, cursor.stream(by), now=now, default_start=start,
                               probe=lambda since, by=by: client.newest_shipment_date(since, by),
                               key_for=shipment_key(by), overlap=DEFAULT_OVERLAP, backoff=BACKOFF)
            cursor = cursor.with_stream(by, tick.stream)
            ticks.append(tick)
            if tick.request:
                requests.append(_shipment_request(tick.request, by, now))
    return _result(requests, cursor, ticks)


def _order_request(req: Requested) -> dg.RunRequest:
    return dg.RunRequest(run_key=req.run_key, run_config=Window(req.start, req.end).run_config(), tags=_tags(req))


def _shipment_request(req: Requested, by: str, now: datetime) -> dg.RunRequest:
    window = Window(req.start, req.end)
    _, config = shipment_run(window if by == CREATE_STREAM else None, window if by == VOID_STREAM else None, now)
    return dg.RunRequest(run_key=req.run_key, run_config=config, tags=_tags(req))


def _tags(req: Requested) -> dict[str, str]:
    return {"ml-connector/window": f"{req.start.isoformat()}..{req.end.isoformat()}",
            "ml-connector/attempt": str(req.attempt)}


def _result(requests: list[dg.RunRequest], cursor: PollCursor, ticks: list[StreamTick]) -> dg.SensorResult:
    """The runs to ask for and the cursor, which is saved even on a skip (confirmations move it too)."""
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())
    return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(t.note for t in ticks)), cursor=cursor.dump())

