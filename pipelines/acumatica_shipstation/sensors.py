"""The pair's sensors: Acumatica `LastModified` polling, ShipStation label polling, SHIP_NOTIFY draining.

Polling follows `pipelines.polling`: a stream's position advances only past windows whose run
succeeded, a failed window is asked again with backoff, run keys come from the window. SHIP_NOTIFY
events (ShipStation reference §4) are hints drained from the shared webhook queue under this
sensor's own cursor; the label poll (created and voided, §6.3) backfills whatever a webhook missed.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from pipelines import polling
from pipelines.acumatica_shipstation.assets import ORDERS_OP, SHIPMENTS_OP
from pipelines.acumatica_shipstation.jobs import orders_job, shipments_job
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationSettings
from pipelines.polling import PollCursor, Requested, instance_of, poll_stream
from resources import AcumaticaResource, ShipStationResource, StateResource
from state.webhook_queue import WebhookStore, queue_path

MODIFIED, CREATED, VOIDED = "modified", "create", "void"
ORDER_OVERLAP = timedelta(minutes=10)  # Acumatica timestamps are exact and server-side: a short overlap will do
LABEL_OVERLAP = timedelta(hours=2)  # ShipStation §6.2: same-second rows, Pacific DST fall-back
SHIP_EVENTS = {"SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"}
DRAIN_LIMIT = 500


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def order_key(start: datetime, end: datetime) -> str:
    return f"acumatica-orders:{_stamp(start)}:{_stamp(end)}"


def label_key(by: str):
    def key(start: datetime, end: datetime) -> str:
        return f"acumatica-labels:{by}:{_stamp(start)}:{_stamp(end)}"
    return key


def order_run_config(start: datetime, end: datetime) -> dict:
    return {"ops": {ORDERS_OP: {"config": {"modified_start": start.isoformat(), "modified_end": end.isoformat()}}}}


def label_run_config(by: str, start: datetime, end: datetime) -> dict:
    prefix = "create_date" if by == CREATED else "void_date"
    return {"ops": {SHIPMENTS_OP: {"config": {f"{prefix}_start": start.isoformat(), f"{prefix}_end": end.isoformat()}}}}


@dg.sensor(job=orders_job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def acumatica_orders_sensor(context: dg.SensorEvaluationContext, acumatica: AcumaticaResource,
                            acumatica_flow: AcumaticaShipStationSettings) -> dg.SensorResult:
    """One cheap probe per tick (is any sales order modified since the position?); a run per window."""
    cursor, now = PollCursor.load(context.cursor), polling.utcnow()
    with acumatica.client() as acu:
        def probe(since: datetime) -> datetime | None:
            pages = acu.iter_modified("SalesOrder", since, page_size=1)
            return now if next(pages, None) else None
        tick = poll_stream(instance_of(context), cursor.stream(MODIFIED), now=now, default_start=acumatica_flow.start(),
                           probe=probe, key_for=order_key, overlap=ORDER_OVERLAP)
    requests = [_request(tick.request, order_run_config(tick.request.start, tick.request.end))] if tick.request else []
    return _result(requests, cursor.with_stream(MODIFIED, tick.stream), [tick.note])


@dg.sensor(job=shipments_job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def acumatica_labels_sensor(context: dg.SensorEvaluationContext, shipstation: ShipStationResource,
                            acumatica_flow: AcumaticaShipStationSettings) -> dg.SensorResult:
    """Polls labels by createDate and voids by voidDate (no webhook announces a void)."""
    cursor, now, instance = PollCursor.load(context.cursor), polling.utcnow(), instance_of(context)
    requests, notes = [], []
    with shipstation.client() as client:
        for by in (CREATED, VOIDED):
            tick = poll_stream(instance, cursor.stream(by), now=now, default_start=acumatica_flow.start(),
                               probe=lambda since, by=by: client.newest_shipment_date(since, by),
                               key_for=label_key(by), overlap=LABEL_OVERLAP)
            cursor = cursor.with_stream(by, tick.stream)
            notes.append(f"{by}: {tick.note}")
            if tick.request:
                requests.append(_request(tick.request, label_run_config(by, tick.request.start, tick.request.end)))
    return _result(requests, cursor, notes)


@dg.sensor(job=shipments_job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.STOPPED)
def acumatica_ship_notify_sensor(context: dg.SensorEvaluationContext, state: StateResource) -> dg.SensorResult:
    """SHIP_NOTIFY events -> one shipments run per batch, keyed by the event id range."""
    after = int(context.cursor or 0)
    with WebhookStore(queue_path(Path(state.home))) as store:
        events = store.after(after, DRAIN_LIMIT)
    batch = [e for e in events if e.resource_type.upper() in SHIP_EVENTS]
    if not events:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"no webhook events after #{after}"))
    requests = []
    if batch:
        urls = list(dict.fromkeys(e.resource_url for e in batch))
        requests.append(dg.RunRequest(run_key=f"acumatica-ship-notify:{batch[0].id}-{batch[-1].id}",
                                      run_config={"ops": {SHIPMENTS_OP: {"config": {"resource_urls": urls}}}},
                                      tags={"ml-connector/webhook-events": f"{batch[0].id}-{batch[-1].id}"}))
    return dg.SensorResult(run_requests=requests, cursor=str(events[-1].id))


def _request(req: Requested, config: dict) -> dg.RunRequest:
    return dg.RunRequest(run_key=req.run_key, run_config=config,
                         tags={"ml-connector/window": f"{req.start.isoformat()}..{req.end.isoformat()}",
                               "ml-connector/attempt": str(req.attempt)})


def _result(requests: list[dg.RunRequest], cursor: PollCursor, notes: list[str]) -> dg.SensorResult:
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())
    return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(notes)), cursor=cursor.dump())
