"""Sensors fed by our own state: the webhook queue, and records held back by something now fixed.

Webhook events are hints (ShipStation reference §6.10): the receiver stores each one durably, and
this sensor drains the queue in id order into runs that follow the events' `resource_url`s. Its
cursor is the last event id handed to a run and run keys name the id range, so an event is never
drained twice; the polling sensors keep running to catch edits, cancellations, voids and anything
a webhook missed. The retry sensor re-drives orders that failed on a missing master once that
master exists (at most `MAX_ATTEMPTS` tries each, so a master that still does not work cannot loop)
and shipments waiting for an order whose voucher has since been posted. Records that failed because
Tally was unavailable are re-driven by `retry_sensors.transient_retry_sensor` (`pipelines.retries`).
"""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from pipelines.shipstation_tally import posting, shipments
from pipelines.shipstation_tally.jobs import orders_job, shipments_job
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.masters import master_exists, missing_master
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.window import shipment_run
from pipelines.sides.tally import TARGET
from resources import StateResource
from state.webhook_queue import StoredEvent, WebhookStore, queue_path

ORDER_EVENTS = {"ORDER_NOTIFY", "ITEM_ORDER_NOTIFY"}
SHIP_EVENTS = {"SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"}
DRAIN_LIMIT = 500
MAX_ATTEMPTS = 5


@dg.sensor(jobs=[orders_job, shipments_job], minimum_interval_seconds=10,
           default_status=dg.DefaultSensorStatus.STOPPED)
def shipstation_webhook_sensor(context: dg.SensorEvaluationContext, state: StateResource) -> dg.SensorResult:
    """Drains stored ShipStation webhook events into order and shipment runs."""
    after = int(context.cursor or 0)
    with WebhookStore(queue_path(Path(state.home))) as store:
        events = store.after(after, DRAIN_LIMIT)
        requests = webhook_requests(events)
        for request, ids in requests:
            store.mark_drained(ids, request.run_key or "")
    if not events:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"no webhook events after #{after}"))
    return dg.SensorResult(run_requests=[r for r, _ in requests], cursor=str(events[-1].id))


def webhook_requests(events: list[StoredEvent]) -> list[tuple[dg.RunRequest, list[int]]]:
    """One run per event kind for a batch of events, keyed by the id range; unknown kinds are passed over."""
    out = []
    for kinds, job, op in ((ORDER_EVENTS, orders_job.name, "shipstation__orders"),
                           (SHIP_EVENTS, shipments_job.name, "shipstation__shipments")):
        batch = [e for e in events if e.resource_type.upper() in kinds]
        if not batch:
            continue
        urls = list(dict.fromkeys(e.resource_url for e in batch))
        run_key = f"webhooks:{op}:{batch[0].id}-{batch[-1].id}"
        config = {"ops": {op: {"config": {"resource_urls": urls}}}}
        tags = {"ml-connector/webhook-events": f"{batch[0].id}-{batch[-1].id}"}
        out.append((dg.RunRequest(run_key=run_key, job_name=job, run_config=config, tags=tags),
                    [e.id for e in batch]))
    return out


@dg.sensor(jobs=[orders_job, shipments_job], minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.STOPPED)
def held_records_retry_sensor(context: dg.SensorEvaluationContext, state: StateResource,
                              flow: ShipStationTallySettings) -> dg.SensorResult | dg.SkipReason:
    """Retries orders held by a missing master that now exists, and shipments whose order now has a voucher."""
    store, ledger = state.staging(), state.ledger()
    skus = SkuResolver.build(store.tally_stock_items(), flow.sku_map())
    ledgers = {name for name, _ in store.tally_ledgers()}
    items = {name for name, _, _ in store.tally_stock_items()}
    ready = [e for e in ledger.entries(posting.FLOW, "failed") if e.attempts < MAX_ATTEMPTS
             and (missing := missing_master(e.last_error)) and master_exists(missing, skus, ledgers, items)]
    waiting = [e for e in ledger.entries(shipments.FLOW, "waiting") if _order_posted(ledger, e.group_key)]
    requests = []
    if ready:
        ids = sorted(int(e.source_id) for e in ready)
        requests.append(dg.RunRequest(
            run_key=f"master-retry:{_digest([(e.source_id, e.updated_at) for e in ready])}", job_name=orders_job.name,
            run_config={"ops": {"shipstation__orders": {"config": {"order_ids": ids}}}},
            tags={"ml-connector/retry": "missing-master"}))
    if waiting:
        _, config = shipment_run(None, None, datetime.now(UTC))
        requests.append(dg.RunRequest(
            run_key=f"waiting-shipments:{_digest([(e.source_id, e.updated_at) for e in waiting])}",
            job_name=shipments_job.name, run_config=config, tags={"ml-connector/retry": "order-now-posted"}))
    if not requests:
        return dg.SkipReason("nothing held back by a master or an order that now exists")
    return dg.SensorResult(run_requests=requests)


def _order_posted(ledger, order_id: str | None) -> bool:
    entry = ledger.get(posting.FLOW, order_id or "", TARGET)
    return entry is not None and entry.state == "posted" and not entry.cancelled


def _digest(values: list) -> str:
    return hashlib.sha256(json.dumps(sorted(values)).encode()).hexdigest()[:16]
