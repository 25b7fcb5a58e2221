"""The pair's sensors: Acumatica `LastModified` polling, ShipStation label polling, SHIP_NOTIFY draining.

Polling follows `pipelines.polling`: a stream's position advances only past windows whose run
succeeded, a failed window is asked again with backoff, run keys come from the window. SHIP_NOTIFY
events (ShipStation reference §4) are hints drained from the shared webhook queue under this
sensor's own cursor; the label poll (created and voided, §6.3: the ShipStation side's
`pipelines.sides.shipstation.labels`, shared by every flow reading labels) backfills whatever a webhook missed.
"""

from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg

from pipelines import polling
from pipelines.acumatica_shipstation.assets import ORDERS_OP, SHIPMENTS_OP
from pipelines.acumatica_shipstation.jobs import SHIPMENTS_JOB, orders_job, shipments_job
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationSettings
from pipelines.polling import PollCursor, instance_of, poll_stream
from pipelines.sides.shipstation.labels import label_sensor, prefixed_keys
from pipelines.windows import Window, op_config
from resources import AcumaticaResource, StateResource
from state.webhook_queue import WebhookStore, queue_path

MODIFIED = "modified"
ORDER_OVERLAP = timedelta(minutes=10)  # Acumatica timestamps are exact and server-side: a short overlap will do
SHIP_EVENTS = {"SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"}
DRAIN_LIMIT = 500


def order_key(start: datetime, end: datetime) -> str:
    return Window(start, end).key("acumatica-orders")


def order_run_config(start: datetime, end: datetime) -> dict:
    return op_config(ORDERS_OP, Window(start, end).fields("modified"))


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
    requests = [polling.run_request(tick.request, order_run_config(tick.request.start, tick.request.end))
                ] if tick.request else []
    return polling.sensor_result(requests, cursor.with_stream(MODIFIED, tick.stream), [tick.note])


acumatica_labels_sensor = label_sensor("acumatica_labels_sensor", job_name=SHIPMENTS_JOB, op=SHIPMENTS_OP,
                                       settings_key="acumatica_flow", key_for=prefixed_keys("acumatica-labels"))


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
