"""Pure conversions for the ShipStation ↔ TallyPrime snapshots: what each system returned -> rows of the
pack's tables (pack.py SNAPSHOTS). No I/O.

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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.common.errors import RecordError
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from connectors.shipstation.timezones import format_pacific_filter, parse_pacific
from connectors.tally.models import StockItemRecord, VoucherRecord
from pipelines.reconciliation.snapshots import (  # noqa: F401  (re-exported: the pack's readers in one place)
    RangeSnapshot,
    Row,
    Snapshot,
    business_day,
    day_bounds,
    fetch_window,
    frame,
    partition_day,
    range_window,
)
from pipelines.shipstation_tally.delivery import line_key
from pipelines.shipstation_tally.mapping import MappingError, SkuResolver, customer_ledger_name, money
from pipelines.sides.tally.markers import MARKER_RE


def order_query(day: date, tz_name: str, last: date | None = None) -> dict[str, Any]:
    """`GET /orders` parameters for the orders of `day` (to `last`): orderDate bounds in Pacific wall time (§1.3)."""
    start, end = range_window(day, last or day, tz_name)
    return {"orderDateStart": format_pacific_filter(start), "orderDateEnd": format_pacific_filter(end, round_up=True),
            "sortBy": "OrderDate", "sortDir": "ASC"}


# --- ShipStation -----------------------------------------------------------------------------------
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
           "ship_date": order.ship_date, "fetched_at": fetched_at}
    lines = [{"day": day, "order_id": order.order_id, "line_key": line_key(item), "sku": item.sku,
              "quantity": Decimal(item.quantity), "amount": money(Decimal(item.quantity) * item.unit_price),
              "adjustment": item.adjustment} for item in order.items]
    return row, lines


def _customer(order: Order) -> str | None:
    try:
        return customer_ledger_name(order)
    except MappingError:
        return None


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
