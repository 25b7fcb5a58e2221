"""Verified Zoho Books webhooks wake the contact sync early; polling on `last_modified_time` stays the truth.

The receiver (`ml_connector.webhooks.zoho`) queues each signed contact event as `ZOHO_CONTACT`. This
sensor drains them under its own cursor (the last queue id it looked at) into one run of the contacts
job that reads Zoho contacts modified since shortly before the first event (`contacts_from_zoho`
only: a Zoho change says nothing new about ShipStation's customers). So:

- several events coalesce into one run: those of one tick, and those that arrive while a woken run
  is still queued or running wait (cursor kept) until it ends, then go in one run (a woken run
  created more than `IN_FLIGHT_LIMIT` ago no longer holds them back: a run stuck as STARTED by a
  dead worker must not silence webhooks for good);
- the same events never make two runs: the run key names the id range, and the events are marked
  drained with it before the request leaves;
- a lost webhook changes nothing: `zoho_contacts_sensor` polls `last_modified_time` regardless, and
  a webhook for a contact already synced costs one read-only run at most.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from pipelines.polling import instance_of
from pipelines.shipstation_zoho.contact_assets import FROM_ZOHO
from pipelines.shipstation_zoho.jobs import CONTACTS_JOB
from pipelines.shipstation_zoho.window import OVERLAP, contacts_config
from resources import StateResource
from state.webhook_queue import StoredEvent, WebhookStore, queue_path

ZOHO_EVENT_PREFIX = "ZOHO_"  # resource_type of a verified Zoho Books webhook in the queue
DRAIN_LIMIT = 500
WOKEN_TAG = "ml-connector/woken-by"
WOKEN_BY = "zoho-webhook"
EVENTS_TAG = "ml-connector/webhook-events"
IN_FLIGHT_LIMIT = timedelta(hours=1)
_IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED]


@dg.sensor(job_name=CONTACTS_JOB, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED)
def zoho_contacts_webhook_sensor(context: dg.SensorEvaluationContext, state: StateResource) -> dg.SensorResult:
    """Queued Zoho contact webhooks -> one early contacts poll; they carry no data we trust."""
    after = int(context.cursor or 0)
    if _woken_run_in_flight(context):
        return dg.SensorResult(skip_reason=dg.SkipReason("a webhook-woken contacts run is in flight: events wait"),
                               cursor=context.cursor)
    with WebhookStore(queue_path(Path(state.home))) as store:
        events = store.after(after, DRAIN_LIMIT)
        zoho = zoho_events(events)
        if not zoho:
            return dg.SensorResult(skip_reason=dg.SkipReason(f"no Zoho webhook after #{after}"),
                                   cursor=str(events[-1].id) if events else context.cursor)
        request = wake_request(zoho)
        store.mark_drained([e.id for e in zoho], request.run_key or "")
    return dg.SensorResult(run_requests=[request], cursor=str(events[-1].id))


def zoho_events(events: list[StoredEvent]) -> list[StoredEvent]:
    """The Zoho Books events among queued ones (the receiver gives only its Zoho source these types)."""
    return [e for e in events if e.resource_type.upper().startswith(ZOHO_EVENT_PREFIX)]


def wake_request(events: list[StoredEvent]) -> dg.RunRequest:
    """One read of Zoho contacts modified since `OVERLAP` before the first event, keyed by the id range."""
    key = f"zoho-webhooks:{events[0].id}-{events[-1].id}"
    since = datetime.fromtimestamp(min(e.received_at for e in events), UTC) - OVERLAP
    return dg.RunRequest(run_key=key, run_config=contacts_config(since), asset_selection=[FROM_ZOHO],
                         tags={EVENTS_TAG: key, WOKEN_TAG: WOKEN_BY})


def _woken_run_in_flight(context: dg.SensorEvaluationContext) -> bool:
    instance = instance_of(context)
    if instance is None:
        return False
    recent = datetime.now(UTC) - IN_FLIGHT_LIMIT
    runs = instance.get_run_records(dg.RunsFilter(job_name=CONTACTS_JOB, statuses=_IN_FLIGHT, created_after=recent,
                                                  tags={WOKEN_TAG: WOKEN_BY}), limit=1)
    return bool(runs)
