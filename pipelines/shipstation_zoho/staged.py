"""Reading staged ShipStation labels back out of DuckDB by order and by day (the newest snapshot of each).

These read the staging store's `shipstation_shipments` view; they would sit well in
`state.staging.StagingStore` next to `orders_by_id`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from connectors.common.timezones import local_date, start_of_local_day
from connectors.shipstation.shipments import Shipment
from state.staging import StagingStore


def labels_of_orders(store: StagingStore, order_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Every staged label of these orders (raw, newest snapshot each)."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return {}
    with store.connect() as conn:
        rows = conn.execute("SELECT order_id, raw FROM shipstation_shipments WHERE order_id IN (SELECT unnest(?))"
                            " ORDER BY create_date", [ids]).fetchall()
    out: dict[int, list[dict]] = defaultdict(list)
    for order_id, raw in rows:
        out[int(order_id)].append(json.loads(raw))
    return out


def labels_of_days(store: StagingStore, days: Iterable[date], tz: str) -> dict[date, tuple[list, list]]:
    """Per local day: the labels created that day and the labels voided that day (parsed)."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    start, end = _bounds(wanted[0], tz)[0], _bounds(wanted[-1], tz)[1]
    with store.connect() as conn:
        rows = conn.execute("SELECT raw FROM shipstation_shipments WHERE (create_date >= ? AND create_date < ?)"
                            " OR (void_date >= ? AND void_date < ?)", [start, end, start, end]).fetchall()
    out: dict[date, tuple[list, list]] = {day: ([], []) for day in wanted}
    for (raw,) in rows:
        label = Shipment.from_raw(json.loads(raw))
        created = local_date(label.create_date, tz)
        if created in out:
            out[created][0].append(label)
        if label.voided and label.void_date is not None and (voided := local_date(label.void_date, tz)) in out:
            out[voided][1].append(label)
    return out


def _bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    return start_of_local_day(day, tz), start_of_local_day(day + timedelta(days=1), tz)


def parsed_labels(raws: list[dict]) -> list[Shipment]:
    """Labels that parse (one that does not is the shipments step's to report)."""
    out = []
    for raw in raws:
        try:
            out.append(Shipment.from_raw(raw))
        except Exception:  # noqa: BLE001 - RecordError; reported where labels are posted
            continue
    return out
