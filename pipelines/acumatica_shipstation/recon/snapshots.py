"""Pure conversions for the Acumatica ↔ ShipStation snapshots: records -> rows of the pack's tables. No I/O.

`day` is the business date in the books' time zone of: an Acumatica order's `Date`, a ShipStation order's
`orderDate`, a label's `createDate`; an Acumatica shipment's `ShipmentDate` is a calendar date already.
A record that does not parse is returned as a problem naming it, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from connectors.acumatica.models import SalesOrder
from connectors.common.errors import RecordError
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment as Label
from pipelines.acumatica_shipstation.mapping import order_key
from pipelines.acumatica_shipstation.shipments import label_cost
from pipelines.reconciliation.snapshots import RangeSnapshot, Row, business_day

Problem = dict[str, str]


def add_orders(scan: RangeSnapshot, records: Iterable[dict], tz: str, fetched_at: datetime) -> None:
    """Acumatica sales orders (plain records) -> `recon_as_orders` rows by order date."""
    for record in records:
        try:
            order = SalesOrder.from_raw(record)
        except RecordError as error:
            scan.problems.append({"record": f"SalesOrder {record.get('OrderNbr')}", "error": str(error)})
            continue
        if order.date is None:
            scan.problems.append({"record": f"SalesOrder {order.order_nbr}", "error": "no Date"})
            continue
        key = order_key(order.order_type, order.order_nbr)
        scan.put(key, {"day": business_day(order.date, tz), "order_key": key, "order_type": order.order_type,
                       "order_nbr": order.order_nbr, "status": order.status, "customer_id": order.customer_id,
                       "currency_id": order.currency_id, "order_total": order.order_total,
                       "freight": order.totals.freight, "fetched_at": fetched_at}, [])


def package_rows(shipment: dict, fetched_at: datetime) -> list[Row]:
    """One `recon_as_packages` row per package of an Acumatica shipment (freight on the first one only)."""
    day = _day(shipment.get("ShipmentDate"))
    details = shipment.get("Details") or []
    key = order_key(details[0].get("OrderType", "SO"), details[0].get("OrderNbr", "")) if details else None
    packages = shipment.get("Packages") or [{}]
    return [{"day": day, "shipment_nbr": shipment.get("ShipmentNbr"), "status": shipment.get("Status"),
             "order_key": key, "ext_key": p.get("CustomRefNbr1"), "tracking_number": p.get("TrackingNbr"),
             "freight_cost": shipment.get("FreightCost") if n == 0 else None, "fetched_at": fetched_at}
            for n, p in enumerate(packages)]


def add_shipments(scan: RangeSnapshot, shipments: Iterable[dict], fetched_at: datetime) -> None:
    for shipment in shipments:
        rows = package_rows(shipment, fetched_at)
        if rows and rows[0]["day"] is not None:
            for n, row in enumerate(rows):
                scan.put((row["shipment_nbr"], n), row, [])


def add_ss_orders(scan: RangeSnapshot, raws: Iterable[dict], tz: str, fetched_at: datetime) -> None:
    """ShipStation orders -> `recon_as_ss_orders` rows by order date."""
    for raw in raws:
        try:
            order = Order.from_raw(raw)
        except RecordError as error:
            scan.problems.append({"record": f"ShipStation order {raw.get('orderId')}", "error": str(error)})
            continue
        source = (raw.get("advancedOptions") or {}).get("source")
        scan.put(order.order_id, {"day": business_day(order.order_date or order.create_date, tz),
                                  "order_id": order.order_id, "order_key": order.order_key,
                                  "order_number": order.order_number, "order_status": order.order_status,
                                  "source": source, "fetched_at": fetched_at}, [])


def add_labels(scan: RangeSnapshot, raws: Iterable[dict], tz: str, fetched_at: datetime) -> list[Label]:
    """ShipStation labels -> `recon_as_labels` rows by create date; the parsed labels (for tracking)."""
    labels = []
    for raw in raws:
        try:
            label = Label.from_raw(raw)
        except RecordError as error:
            scan.problems.append({"record": f"ShipStation label {raw.get('shipmentId')}", "error": str(error)})
            continue
        labels.append(label)
        scan.put(label.shipment_id, {"day": business_day(label.create_date, tz), "shipment_id": label.shipment_id,
                                     "order_id": label.order_id, "order_key": label.order_key,
                                     "order_number": label.order_number, "tracking_number": label.tracking_number,
                                     "carrier_code": label.carrier_code, "voided": label.voided,
                                     "cost": label_cost(label), "fetched_at": fetched_at}, [])
    return labels


def tracking_row(label: Label, day: date, status: str | None, has_parcel: bool | None,
                 fetched_at: datetime) -> Row:
    return {"day": day, "shipment_id": label.shipment_id, "tracking_number": label.tracking_number,
            "status": status, "carrier_has_parcel": has_parcel, "fetched_at": fetched_at}


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None
