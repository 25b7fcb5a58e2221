"""ShipStation label polling for every flow that reads labels: the run config and the cursor sensor.

V1 shipments have no modifyDate (ShipStation reference §6.3): a flow reads labels *created* in one
window and labels *voided* in another, and polls two streams, `create` and `void` (no webhook
announces a void, §4). Each stream follows `pipelines.polling`: its position advances only past
windows whose run succeeded, a failed window is asked again with backoff, run keys come from the
window. Each new window starts `OVERLAP` before the confirmed position (§6.2: same-second rows,
rows shifting between pages, the Pacific DST fall-back hour); the sync ledger makes re-reading harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from connectors.common.prefetch import Prefetch
from connectors.shipstation.client import ShipStationClient
from pipelines import polling
from pipelines.polling import PollCursor, instance_of, poll_stream
from pipelines.sides.shipstation import reading
from pipelines.sides.shipstation.config import ReplayConfig
from pipelines.windows import Window, op_config, parse_instant, resolve_window
from state.ledger import Entry
from state.staging import StagingStore

CREATE_STREAM, VOID_STREAM = "create", "void"
LABEL_STREAMS = (CREATE_STREAM, VOID_STREAM)
OVERLAP = timedelta(hours=2)

KeyFor = Callable[[str], Callable[[datetime, datetime], str]]


class LabelsWindowConfig(dg.Config):
    """What to read: labels created and labels voided in a window (empty: the flow's default start up to now;
    no void window: the created one), every label of the given orders (replay), or the shipments behind
    webhook `resource_url`s."""

    create_date_start: str | None = None
    create_date_end: str | None = None
    void_date_start: str | None = None
    void_date_end: str | None = None
    order_ids: list[int] = []
    resource_urls: list[str] = []

    def windows(self, default_start: datetime, now: datetime) -> tuple[Window, Window]:
        """The created and the voided window this run reads."""
        created = resolve_window(self.create_date_start, self.create_date_end, default_start, now)
        voided = resolve_window(self.void_date_start or self.create_date_start,
                                self.void_date_end or self.create_date_end, default_start, now)
        return created, voided


def label_pages(client: ShipStationClient, config: LabelsWindowConfig, default_start: datetime,
                now: datetime) -> Iterator[reading.RawPage]:
    """The raw label pages a run reads, as its run config aims it."""
    created, voided = config.windows(default_start, now)
    return reading.shipment_pages(client, created=(created.start, created.end), voided=(voided.start, voided.end),
                                  order_ids=config.order_ids, resource_urls=config.resource_urls)


def stage_label_pages(store: StagingStore, run_id: str, pages: Iterable[reading.RawPage], now: datetime) -> int:
    """Stage the pages' labels for the run (with their create and void dates); how many were staged. The next
    page is read on a worker thread while one is staged (the caller must not use the pages' client meanwhile),
    and pages are written a unit of several at a time, as the orders are (`StagingStore.stage_pages`)."""
    with Prefetch(pages) as ahead:
        return store.stage_shipment_pages(run_id, now, (
            store.shipment_columns(page, [reading.shipment_dates(r) for r in page]) for page in ahead))


def labels_run_config(op: str, created: Window | None, voided: Window | None, now: datetime) -> dict[str, Any]:
    """Run config reading the label windows given; a missing one is empty (`now` to `now`)."""
    empty = Window(now, now)
    return op_config(op, {**(created or empty).fields("create_date"), **(voided or empty).fields("void_date")})


def window_run_config(op: str) -> Callable[[datetime, datetime], dict[str, Any]]:
    """Run config reading labels created or voided in one window (a flow's `window_config`: sync, backfill)."""
    def config(start: datetime, end: datetime) -> dict[str, Any]:
        window = Window(start, end)
        return labels_run_config(op, window, window, end)
    return config


def labels_of_orders(op: str, order_id: Callable[[Entry], object] = lambda e: e.group_key) -> ReplayConfig:
    """Run config for `op` re-reading every label of the entries' orders (replay, transient retries).

    Labels have no GET by id (ShipStation reference §3.1); `order_id` finds an entry's order (its group key).
    """
    def config(entries: Sequence[Entry]) -> dict[str, Any]:
        ids = sorted({int(str(order_id(e))) for e in entries if str(order_id(e) or "").isdigit()})
        return op_config(op, {"order_ids": ids})
    return config


def prefixed_keys(prefix: str) -> KeyFor:
    """Run keys `<prefix>:<stream>:<start>:<end>` for the windows of each label stream."""
    return lambda by: lambda start, end: Window(start, end).key(f"{prefix}:{by}")


def poll_labels(context: dg.SensorEvaluationContext, client: ShipStationClient, *, default_start: datetime,
                op: str, key_for: KeyFor, legacy: Callable[[dict], PollCursor] | None = None,
                backoff: polling.Backoff = polling.Backoff()) -> dg.SensorResult:
    """One tick of both label streams: one cheap probe each, a run per window with news."""
    cursor, now, instance = PollCursor.load(context.cursor, legacy), polling.utcnow(), instance_of(context)
    requests, notes = [], []
    for by in LABEL_STREAMS:
        tick = poll_stream(instance, cursor.stream(by), now=now, default_start=default_start,
                           probe=lambda since, by=by: client.newest_shipment_date(since, by),
                           key_for=key_for(by), overlap=OVERLAP, backoff=backoff)
        cursor = cursor.with_stream(by, tick.stream)
        notes.append(f"{by}: {tick.note}")
        if tick.request:
            window = Window(tick.request.start, tick.request.end)
            config = labels_run_config(op, window if by == CREATE_STREAM else None,
                                       window if by == VOID_STREAM else None, now)
            requests.append(polling.run_request(tick.request, config))
    return polling.sensor_result(requests, cursor, notes)


def label_sensor(name: str, *, job_name: str, op: str, settings_key: str, key_for: KeyFor,
                 legacy: Callable[[dict], PollCursor] | None = None,
                 minimum_interval_seconds: int = 120) -> dg.SensorDefinition:
    """A flow's label sensor: polls with the `shipstation` resource from the sync start of `settings_key`'s
    resource (any resource with a `sync_start` ISO text) and asks `job_name` to run `op` per window."""
    @dg.sensor(name=name, job_name=job_name, minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus.STOPPED, required_resource_keys={"shipstation", settings_key},
               description="Polls ShipStation labels by createDate and voids by voidDate (no webhook announces "
                           "a void); a run per window, asked again until it succeeds.")
    def sensor(context: dg.SensorEvaluationContext, **_direct: Any) -> dg.SensorResult:
        # A daemon tick passes the context alone; calling the sensor directly (tests) also passes each
        # required resource by name. Both reach them through `context.resources`.
        start = parse_instant(getattr(context.resources, settings_key).sync_start)
        with context.resources.shipstation.client() as client:
            return poll_labels(context, client, default_start=start, op=op, key_for=key_for, legacy=legacy)
    return sensor
