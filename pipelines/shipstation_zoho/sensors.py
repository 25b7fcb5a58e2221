"""The sensors that own this pair's polling cursors: order `modifyDate`, label create and void dates, and
Zoho contacts' `last_modified_time`; plus a drain of verified Zoho webhooks that only asks for that poll early
(`webhook_sensor.py`).

Each stream follows `pipelines.polling`: its position advances only past windows whose run
succeeded, so a window stopped by Zoho's daily cap is asked again (with backoff) until it goes through.
"""

import hashlib
import re
from datetime import datetime

import dagster as dg

from connectors.zoho_books.client import parse_time
from pipelines import polling
from pipelines.polling import PollCursor, instance_of, poll_stream
from pipelines.shipstation_zoho.flows import orders_by_id
from pipelines.shipstation_zoho.jobs import CONTACTS_JOB, ORDERS_JOB
from pipelines.shipstation_zoho.posting import INVOICES_FLOW
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from pipelines.shipstation_zoho.shipment_sensors import shipstation_labels_to_zoho_sensor
from pipelines.shipstation_zoho.webhook_sensor import zoho_contacts_webhook_sensor
from pipelines.shipstation_zoho.window import (
    CONTACTS_STREAM,
    ORDERS_STREAM,
    OVERLAP,
    Window,
    contacts_config,
    orders_config,
    parse_instant,
)
from pipelines.sides.zoho_books.items import HELD
from resources import ShipStationResource, StateResource, ZohoBooksResource

BACKOFF = polling.Backoff()
MAX_HELD_ATTEMPTS = 5
_HELD_RE = re.compile(re.escape(HELD) + r" '([^']*)'")


@dg.sensor(job_name=ORDERS_JOB, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED)
def shipstation_orders_to_zoho_sensor(context: dg.SensorEvaluationContext, shipstation: ShipStationResource,
                                      zoho_flow: ShipStationZohoSettings) -> dg.SensorResult:
    """One cheap probe per tick (the newest modifyDate); a run per window, asked again until it succeeds."""
    cursor = PollCursor.load(context.cursor)
    with shipstation.client() as client:
        tick = poll_stream(instance_of(context), cursor.stream(ORDERS_STREAM), now=polling.utcnow(),
                           default_start=parse_instant(zoho_flow.sync_start),
                           probe=lambda since: client.latest_modify_date(since=since),
                           key_for=lambda s, e: Window(s, e).key("orders"), overlap=OVERLAP, backoff=BACKOFF)
    requests = [polling.run_request(tick.request, orders_config(tick.request.start, tick.request.end))
                ] if tick.request else []
    return polling.sensor_result(requests, cursor.with_stream(ORDERS_STREAM, tick.stream), [tick.note])


@dg.sensor(job_name=CONTACTS_JOB, minimum_interval_seconds=900, default_status=dg.DefaultSensorStatus.STOPPED)
def zoho_contacts_sensor(context: dg.SensorEvaluationContext, zoho_books: ZohoBooksResource,
                         zoho_flow: ShipStationZohoSettings) -> dg.SensorResult:
    """Polls Zoho contacts by `last_modified_time` (one request a tick: Zoho's daily cap is small)."""
    cursor = PollCursor.load(context.cursor)
    with zoho_books.client() as client:
        def newest(since: datetime) -> datetime | None:
            first = next(iter(client.iter_contacts_modified(since)), None)
            return parse_time(first.get("last_modified_time")) if first else None

        tick = poll_stream(instance_of(context), cursor.stream(CONTACTS_STREAM), now=polling.utcnow(),
                           default_start=parse_instant(zoho_flow.sync_start), probe=newest,
                           key_for=lambda s, e: Window(s, e).key("contacts"), overlap=OVERLAP, backoff=BACKOFF)
    requests = [polling.run_request(tick.request, contacts_config(tick.request.start))] if tick.request else []
    return polling.sensor_result(requests, cursor.with_stream(CONTACTS_STREAM, tick.stream), [tick.note])


@dg.sensor(job_name=ORDERS_JOB, minimum_interval_seconds=1800, default_status=dg.DefaultSensorStatus.STOPPED)
def zoho_held_orders_sensor(context: dg.SensorEvaluationContext, zoho_books: ZohoBooksResource,
                            state: StateResource) -> dg.SensorResult:
    """Orders held back for a Zoho item that was missing (ZOHO_MISSING_ITEMS=hold), re-driven once it exists."""
    held = [e for e in state.ledger().entries(INVOICES_FLOW, "failed")
            if held_sku(e.last_error) is not None and e.attempts < MAX_HELD_ATTEMPTS]
    if not held:
        return dg.SensorResult(skip_reason=dg.SkipReason("no order is held for a missing Zoho item"))
    with zoho_books.client() as client:  # one request per missing SKU: they are few
        present = {sku for sku in {held_sku(e.last_error) for e in held} if sku and client.find_items_by_sku(sku)}
    ready = [e for e in held if held_sku(e.last_error) in present]
    if not ready:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"{len(held)} order(s) still wait for Zoho items"))
    digest = hashlib.sha256(repr(sorted((e.source_id, e.updated_at) for e in ready)).encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"zoho-held:{digest}", run_config=orders_by_id(ready),
                                                       tags={"ml-connector/retry": "zoho-item-now-exists"})])


def held_sku(error: str | None) -> str | None:
    """The SKU an order was held back for (see `pipelines.sides.zoho_books.items.HELD`), or None."""
    found = _HELD_RE.search(error or "")
    return found.group(1) if found else None


SENSORS = [shipstation_orders_to_zoho_sensor, shipstation_labels_to_zoho_sensor, zoho_contacts_sensor,
           zoho_contacts_webhook_sensor, zoho_held_orders_sensor]
