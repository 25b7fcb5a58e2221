"""The sensor that owns the Walmart polling cursors: orders and returns by lastModified date.

Each stream follows `pipelines.polling`: its position advances only past windows whose run
succeeded. Walmart cannot sort by modification, so the probe asks whether anything was modified
since the confirmed position (a one-record page) and, if so, opens a window up to now. Order
notifications (PO_CREATED), when subscribed, only wake this sensor early: they carry no window.
"""

from datetime import datetime
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

BACKOFF = polling.Backoff()
STREAMS = {ORDERS_STREAM: (ORDERS_JOB, ORDERS_OP), RETURNS_STREAM: (RETURNS_JOB, RETURNS_OP)}


@dg.sensor(jobs=[orders_job, returns_job], minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.STOPPED,
           name="walmart_orders_sensor")
def walmart_orders_sensor(context: dg.SensorEvaluationContext, walmart: dg.ResourceParam[Any],
                          walmart_flow: WalmartTallySettings) -> dg.SensorResult:
    """One cheap probe per stream and tick; a run per window, asked again until it succeeds.

    `walmart` is any resource whose `client()` gives a `WalmartClient`.
    """
    cursor, now, instance = PollCursor.load(context.cursor), polling.utcnow(), instance_of(context)
    start = parse_instant(walmart_flow.sync_start)
    requests, notes = [], []
    with walmart.client() as client:
        probes = {ORDERS_STREAM: lambda since: now if client.count_orders(
                      created_start=created_floor(start, now), modified_start=since) else None,
                  RETURNS_STREAM: lambda since: now if any(
                      True for _ in client.iter_return_pages_raw(modified_start=since, limit=1)) else None}
        for stream, probe in probes.items():
            tick = poll_stream(instance, cursor.stream(stream), now=now, default_start=start, probe=probe,
                               key_for=lambda s, e, stream=stream: Window(s, e).run_key(stream), overlap=OVERLAP,
                               backoff=BACKOFF)
            cursor = cursor.with_stream(stream, tick.stream)
            notes.append(f"{stream}: {tick.note}")
            if tick.request:
                requests.append(_request(tick.request, stream))
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())
    return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(notes)), cursor=cursor.dump())


def _request(req: Requested, stream: str) -> dg.RunRequest:
    job, op = STREAMS[stream]
    return dg.RunRequest(run_key=req.run_key, job_name=job, run_config=Window(req.start, req.end).run_config(op),
                         tags={"ml-connector/window": f"{_iso(req.start)}..{_iso(req.end)}",
                               "ml-connector/attempt": str(req.attempt)})


def _iso(value: datetime) -> str:
    return value.isoformat()
