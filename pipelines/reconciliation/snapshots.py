"""Pure conversions for the reconciliation snapshots: what each system returned -> rows of the tables in
`tables.py`. No I/O.

`day` is the business date in the books' time zone (TALLY_TIMEZONE) of the record: an order's
`orderDate` (else `createDate`), a label's `createDate`, a voucher's date, the date a stock snapshot is
for. A day is read from ShipStation with a window one hour wider on each side than the local day (V1
filters are Pacific wall time to the second, and a wall time in the fall-back hour names two instants),
and only the records whose own day is the partition's are kept, so a record lands in exactly one day.

Amounts are `Decimal` (never float). Tally amounts are kept as magnitudes: their sign is Tally's
debit/credit convention (reference §3), not a business meaning, and it flips with the voucher type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from connectors.common.errors import RecordError
from connectors.common.timezones import format_pacific_filter, local_date, parse_pacific
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from connectors.tally.models import StockItemRecord, VoucherRecord
from pipelines.shipstation_tally.delivery import line_key
from pipelines.shipstation_tally.mapping import MappingError, SkuResolver, customer_ledger_name, money
from pipelines.shipstation_tally.vouchers import MARKER_RE

Row = dict[str, Any]
WINDOW_MARGIN = timedelta(hours=1)


# --- days ----------------------------------------------------------------------------------------
def business_day(instant: datetime, tz_name: str) -> date:
    """The calendar date of an aware instant in the books' time zone."""
    return local_date(instant, tz_name)


def day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """`[start, end)` of `day` in `tz_name`, as aware UTC instants."""
    zone = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def fetch_window(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """The instants to ask a source for, to be sure of every record of `day` (filtered by day afterwards)."""
    start, end = day_bounds(day, tz_name)
    return start - WINDOW_MARGIN, end + WINDOW_MARGIN


def range_window(first: date, last: date, tz_name: str) -> tuple[datetime, datetime]:
    """`fetch_window` over consecutive days `first..last`: one scan instead of one per day."""
    return fetch_window(first, tz_name)[0], fetch_window(last, tz_name)[1]


def order_query(day: date, tz_name: str, last: date | None = None) -> dict[str, Any]:
    """`GET /orders` parameters for the orders of `day` (to `last`): orderDate bounds in Pacific wall time (§1.3)."""
    start, end = range_window(day, last or day, tz_name)
    return {"orderDateStart": format_pacific_filter(start), "orderDateEnd": format_pacific_filter(end, round_up=True),
            "sortBy": "OrderDate", "sortDir": "ASC"}


def partition_day(key: str) -> date:
    """A daily partition key (`2026-04-01`) as a date."""
    return date.fromisoformat(key)


# --- ShipStation -----------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """Rows of one day: records, their lines, records that did not parse, and how many fell on other days."""

    day: date
    rows: dict[Any, Row] = field(default_factory=dict)
    lines: dict[Any, list[Row]] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    other_days: int = 0

    def put(self, key: Any, row: Row, lines: list[Row]) -> None:
        """Add a record (a record met twice, e.g. across pages, keeps its last version)."""
        if row["day"] != self.day:
            self.other_days += 1
            return
        self.rows[key], self.lines[key] = row, lines

    def frames(self, table: str, lines_table: str) -> dict[str, pd.DataFrame]:
        return {table: frame(self.rows.values()), lines_table: frame(r for rs in self.lines.values() for r in rs)}

    @property
    def line_count(self) -> int:
        return sum(len(rs) for rs in self.lines.values())


def order_instant(order: Order) -> datetime:
    """The instant an order's day is taken from: `orderDate`, else `createDate`."""
    return order.order_date or order.create_date


def order_rows(order: Order, tz_name: str, fetched_at: datetime) -> tuple[Row, list[Row]]:
    """One `recon_ss_orders` row and its `recon_ss_order_lines` rows."""
    instant = order_instant(order)
    day = business_day(instant, tz_name)
    row = {"day": day, "order_id": order.order_id, "order_number": order.order_number,
           "order_status": order.order_status, "order_date": instant, "customer": _customer(order),
           "order_total": money(order.order_total), "shipping_amount": money(order.shipping_amount),
           "fetched_at": fetched_at}
    lines = [{"day": day, "order_id": order.order_id, "line_key": line_key(item), "sku": item.sku,
              "quantity": Decimal(item.quantity), "amount": money(Decimal(item.quantity) * item.unit_price),
              "adjustment": item.adjustment} for item in order.items]
    return row, lines


def _customer(order: Order) -> str | None:
    try:
        return customer_ledger_name(order)
    except MappingError:
        return None


class RangeSnapshot:
    """Snapshots of consecutive days filled from one scan: each record goes to the day it belongs to."""

    def __init__(self, days: list[date]) -> None:
        self.by_day = {day: Snapshot(day) for day in days}
        self.day = days[0]  # where a record with no date of its own is put (as a one-day snapshot does)
        self.problems: list[dict[str, str]] = []
        self.other_days = 0

    def put(self, key: Any, row: Row, lines: list[Row]) -> None:
        target = self.by_day.get(row["day"])
        if target is None:
            self.other_days += 1
        else:
            target.put(key, row, lines)


def add_orders(snapshot: Snapshot | RangeSnapshot, page: Iterable[Mapping[str, Any]], tz_name: str,
               fetched_at: datetime) -> None:
    """Add one page of raw V1 orders; one that does not parse still gets a row (ids, status, day)."""
    for raw in page:
        try:
            row, lines = order_rows(Order.from_raw(raw), tz_name, fetched_at)
        except RecordError as error:
            snapshot.problems.append({"record": Order.record_label(raw), "error": str(error)})
            row, lines = _bare_order(raw, snapshot.day, tz_name, fetched_at), []
        if row["order_id"] is not None:
            snapshot.put(row["order_id"], row, lines)


def _bare_order(raw: Mapping[str, Any], day: date, tz_name: str, fetched_at: datetime) -> Row:
    instant = _instant(raw.get("orderDate")) or _instant(raw.get("createDate"))
    return {"day": business_day(instant, tz_name) if instant else day, "order_id": _int(raw.get("orderId")),
            "order_number": _text(raw.get("orderNumber")), "order_status": _text(raw.get("orderStatus")),
            "order_date": instant, "fetched_at": fetched_at}


def shipment_rows(shipment: Shipment, tz_name: str, fetched_at: datetime) -> tuple[Row, list[Row]]:
    """One `recon_ss_shipments` row and its goods lines (discount lines move nothing, reference §6.12)."""
    day = business_day(shipment.create_date, tz_name)
    row = {"day": day, "shipment_id": shipment.shipment_id, "order_id": shipment.order_id,
           "order_number": shipment.order_number, "create_date": shipment.create_date, "voided": shipment.voided,
           "void_date": shipment.void_date, "shipment_cost": money(shipment.shipment_cost),
           "tracking_number": shipment.tracking_number, "carrier_code": shipment.carrier_code,
           "fetched_at": fetched_at}
    lines = [{"day": day, "shipment_id": shipment.shipment_id, "order_id": shipment.order_id,
              "line_key": line_key(item), "sku": item.sku, "quantity": Decimal(item.quantity)}
             for item in shipment.items or [] if not item.adjustment]
    return row, lines


def add_shipments(snapshot: Snapshot | RangeSnapshot, page: Iterable[Mapping[str, Any]], tz_name: str,
                  fetched_at: datetime) -> None:
    """Add one page of raw V1 labels (voided ones included); one that does not parse still gets a row."""
    for raw in page:
        try:
            row, lines = shipment_rows(Shipment.from_raw(raw), tz_name, fetched_at)
        except RecordError as error:
            snapshot.problems.append({"record": Shipment.record_label(raw), "error": str(error)})
            row, lines = _bare_shipment(raw, snapshot.day, tz_name, fetched_at), []
        if row["shipment_id"] is not None:
            snapshot.put(row["shipment_id"], row, lines)


def _bare_shipment(raw: Mapping[str, Any], day: date, tz_name: str, fetched_at: datetime) -> Row:
    instant = _instant(raw.get("createDate"))
    return {"day": business_day(instant, tz_name) if instant else day, "shipment_id": _int(raw.get("shipmentId")),
            "order_id": _int(raw.get("orderId")), "order_number": _text(raw.get("orderNumber")),
            "create_date": instant, "voided": bool(raw.get("voided")), "fetched_at": fetched_at}


def _instant(value: Any) -> datetime | None:
    try:
        return parse_pacific(value) if value else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- TallyPrime ------------------------------------------------------------------------------------
def ext_key(narration: str | None) -> str | None:
    """Our key from the voucher's narration marker (`[ext:ss-order-1]`); None: made outside ml-connector."""
    found = MARKER_RE.search(narration or "")
    return found.group(1) if found else None


def voucher_amount(voucher: VoucherRecord) -> Decimal | None:
    """The party line's amount, else the sum of the stock lines, as a magnitude; None when it has no lines."""
    party = next((e for e in voucher.ledger_entries if e.is_party), None) or next(
        (e for e in voucher.ledger_entries if voucher.party_ledger and e.ledger_name == voucher.party_ledger), None)
    if party is not None:
        return abs(party.amount)
    if voucher.inventory_entries:
        return abs(sum((e.amount for e in voucher.inventory_entries), Decimal(0)))
    return None


def voucher_rows(voucher: VoucherRecord, fetched_at: datetime) -> tuple[Row, list[Row]]:
    """One `recon_tally_vouchers` row and its `recon_tally_voucher_lines` rows (one per stock line)."""
    party = voucher.party_ledger or next((e.ledger_name for e in voucher.ledger_entries if e.is_party), None)
    row = {"day": voucher.date, "voucher_type": voucher.voucher_type, "master_id": voucher.master_id,
           "guid": voucher.guid, "voucher_number": voucher.voucher_number, "reference": voucher.reference,
           "party": party, "ext_key": ext_key(voucher.narration), "cancelled": voucher.is_cancelled,
           "amount": voucher_amount(voucher), "fetched_at": fetched_at}
    lines = [{"day": voucher.date, "master_id": voucher.master_id, "stock_item": e.stock_item,
              "quantity": e.quantity, "amount": abs(e.amount), "order_no": e.order_no,
              "tracking_number": e.tracking_number} for e in voucher.inventory_entries]
    return row, lines


def add_vouchers(snapshot: Snapshot, vouchers: Iterable[VoucherRecord], fetched_at: datetime) -> None:
    """Add vouchers as Tally exported them; one dated another day is counted, not kept."""
    for voucher in vouchers:
        row, lines = voucher_rows(voucher, fetched_at)
        snapshot.put((voucher.voucher_type, voucher.master_id, voucher.guid), row, lines)


def stock_rows(items: Iterable[StockItemRecord], day: date, fetched_at: datetime) -> list[Row]:
    """`recon_tally_stock`: each stock item's closing quantity as of `day` (None when Tally gave none)."""
    return [{"day": day, "stock_item": item.name, "closing_qty": item.closing_qty, "fetched_at": fetched_at}
            for item in items]


def inventory_rows(levels: Iterable[tuple[str, int | Decimal]], day: date, fetched_at: datetime) -> list[Row]:
    """`recon_ss_inventory`: on-hand per SKU, summed over the levels read (one per location)."""
    on_hand: dict[str, Decimal] = {}
    for sku, quantity in levels:
        key = sku.strip()
        if key:
            on_hand[key] = on_hand.get(key, Decimal(0)) + Decimal(quantity)
    return [{"day": day, "sku": sku, "on_hand": qty, "fetched_at": fetched_at} for sku, qty in sorted(on_hand.items())]


def sku_item_rows(skus: Iterable[str | None], resolver: SkuResolver, day: date) -> tuple[list[Row], list[str]]:
    """`recon_sku_items`: each SKU's stock item as the vouchers resolve it, and the SKUs with none."""
    rows, unmapped = [], []
    for sku in sorted({s.strip() for s in skus if s and s.strip()}):
        ref = resolver.resolve(sku)
        if ref is None:
            unmapped.append(sku)
        else:
            rows.append({"day": day, "sku": sku, "stock_item": ref.name})
    return rows, unmapped


def frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Rows as a DataFrame of Python objects: Decimals, aware datetimes and None survive untouched."""
    return pd.DataFrame(list(rows), dtype=object)
