"""The sensor that owns the Walmart polling cursors: orders and returns by lastModified date.

Each stream follows `pipelines.polling`: its position advances only past windows whose run
succeeded. Walmart cannot sort by modification, so the probe asks whether anything was modified
since the confirmed position (a one-record page) and, if so, opens a window up to now.

The sensor ticks every `TICK_SECONDS` but asks Walmart only every `POLL_EVERY`. In between it looks at
the webhook queue only (no API call): a queued Walmart order notification (PO_CREATED or
PO_LINE_AUTOCANCELLED, stored by `ml_connector.webhooks.walmart`) wakes the orders stream early, which
then opens its window up to now without probing, as the notification already says there is news.
The events are marked drained with that window's run key; while a window of the stream is still
running they wait, so the next window covers them. Notifications carry no window and move no
cursor: a lost or late one changes nothing, the next poll finds the order anyway.
The cursor is the polling cursor's JSON plus `wake`: `{"events_after": <last queue id looked at>,
"probed_at": <last Walmart probe>}`.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines import polling
from pipelines.polling import PollCursor, Requested, instance_of, poll_stream
from pipelines.walmart_tally.jobs import ORDERS_JOB, RETURNS_JOB, orders_job, returns_job
from pipelines.walmart_tally.settings import WalmartTallySettings
from pipelines.walmart_tally.window import (
    ORDERS_OP,
    ORDERS_STREAM,
    OVERLAP,
    RETURNS_OP,
    RETURNS_STREAM,
    Window,
    created_floor,
)
from pipelines.windows import parse_instant
from resources import StateResource
from state.webhook_queue import StoredEvent, WebhookStore, queue_path

BACKOFF = polling.Backoff()
STREAMS = {ORDERS_STREAM: (ORDERS_JOB, ORDERS_OP), RETURNS_STREAM: (RETURNS_JOB, RETURNS_OP)}
TICK_SECONDS = 30
POLL_EVERY = timedelta(minutes=2)
ORDER_EVENTS = frozenset({"PO_CREATED", "PO_LINE_AUTOCANCELLED"})
DRAIN_LIMIT = 500
WOKEN_TAG = "ml-connector/woken-by"


@dataclass(frozen=True)
class Wake:
    """The sensor's own part of the cursor: how far it read the queue, when it last asked Walmart."""

    events_after: int = 0
    probed_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.probed_at is None or now - self.probed_at >= POLL_EVERY


def load(text: str | None) -> tuple[PollCursor, Wake]:
    wake = (json.loads(text).get("wake") if text else None) or {}
    probed = wake.get("probed_at")
    return PollCursor.load(text), Wake(int(wake.get("events_after") or 0), parse_instant(probed) if probed else None)


def dump(cursor: PollCursor, wake: Wake) -> str:
    probed = wake.probed_at.isoformat() if wake.probed_at else None
    return json.dumps({**json.loads(cursor.dump()), "wake": {"events_after": wake.events_after, "probed_at": probed}})


def order_events(events: list[StoredEvent]) -> list[StoredEvent]:
    """The queued Walmart order notifications among `events`."""
    return [e for e in events if e.source == "walmart" and e.resource_type.upper() in ORDER_EVENTS]


@dg.sensor(jobs=[orders_job, returns_job], minimum_interval_seconds=TICK_SECONDS,
           default_status=dg.DefaultSensorStatus.STOPPED, name="walmart_orders_sensor")
def walmart_orders_sensor(context: dg.SensorEvaluationContext, walmart: dg.ResourceParam[Any],
                          walmart_flow: WalmartTallySettings, state: StateResource) -> dg.SensorResult:
    """A probe per stream every `POLL_EVERY`; queued order notifications open an orders window sooner.

    `walmart` is any resource whose `client()` gives a `WalmartClient`.
    """
    cursor, wake = load(context.cursor)
    now, instance = polling.utcnow(), instance_of(context)
    with WebhookStore(queue_path(Path(state.home))) as store:
        seen = store.after(wake.events_after, DRAIN_LIMIT)
        woken = order_events(seen)
        if woken or wake.due(now):
            cursor, requests, notes = _tick(cursor, woken, wake.due(now), walmart, walmart_flow, instance, now)
        else:
            requests, notes = [], [f"no order notification; next Walmart poll after {wake.probed_at + POLL_EVERY}"]
        taker = next((r.run_key for r in requests if r.tags.get(WOKEN_TAG)), None)
        if taker:
            store.mark_drained([e.id for e in woken], taker)
    # Notifications not taken by a window (the stream was busy) are read again next tick.
    after = seen[-1].id if seen and (taker or not woken) else wake.events_after
    wake = Wake(after, now if wake.due(now) else wake.probed_at)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=dump(cursor, wake))
    return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(notes)), cursor=dump(cursor, wake))


def _tick(cursor: PollCursor, woken: list[StoredEvent], due: bool, walmart: Any, flow: WalmartTallySettings,
          instance: dg.DagsterInstance | None, now: datetime) -> tuple[PollCursor, list[dg.RunRequest], list[str]]:
    """Tick the streams that are due (orders also when woken); Walmart is asked only by the due ones."""
    start = parse_instant(flow.sync_start)
    requests, notes = [], []
    with walmart.client() as client:
        probes = {ORDERS_STREAM: lambda since: now if woken or client.count_orders(
                      created_start=created_floor(start, now), modified_start=since) else None,
                  RETURNS_STREAM: lambda since: now if any(
                      True for _ in client.iter_return_pages_raw(modified_start=since, limit=1)) else None}
        for stream, probe in probes.items():
            if not due and not (stream == ORDERS_STREAM and woken):
                continue
            tick = poll_stream(instance, cursor.stream(stream), now=now, default_start=start, probe=probe,
                               key_for=lambda s, e, stream=stream: Window(s, e).run_key(stream), overlap=OVERLAP,
                               backoff=BACKOFF)
            cursor = cursor.with_stream(stream, tick.stream)
            notes.append(f"{stream}: {tick.note}")
            if tick.request:
                fresh = tick.request.attempt == 0
                requests.append(_request(tick.request, stream, woken if stream == ORDERS_STREAM and fresh else []))
    return cursor, requests, notes


def _request(req: Requested, stream: str, woken: list[StoredEvent]) -> dg.RunRequest:
    job, op = STREAMS[stream]
    tags = {WOKEN_TAG: f"walmart-webhooks:{woken[0].id}-{woken[-1].id}"} if woken else None
    return polling.run_request(req, Window(req.start, req.end).run_config(op), job_name=job, tags=tags)
