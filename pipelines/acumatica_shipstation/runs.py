"""One pass of each flow, as plain functions the assets call (and tests and the bench call directly).

Each reads what the pass needs, hands it to its poster and returns the poster (its report and what it
held back). No Dagster here; clients, ledger and configuration come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice

from connectors.acumatica.client import AcumaticaClient
from connectors.acumatica.models import Customer, StockItem
from connectors.common.errors import NotFound, RecordError
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.shipments import Shipment as Label
from pipelines.acumatica_shipstation import mapping
from pipelines.acumatica_shipstation.mapping import OutboundConfig
from pipelines.acumatica_shipstation.posting import (
    CONFIRM_FLOW,
    ORDERS_FLOW,
    ORDERS_TARGET,
    SHIPMENTS_FLOW,
    SHIPMENTS_TARGET,
    ConfirmPoster,
    FreightPoster,
    LabelRecord,
    PostedShipment,
    SalesOrderPoster,
    Scanned,
    ShipmentPoster,
)
from pipelines.acumatica_shipstation.shipments import InboundConfig
from pipelines.acumatica_shipstation.target import ConfirmTarget, FreightTarget, ShipmentTarget
from pipelines.sides.shipstation.target import ShipStationOrderTarget
from state.ledger import Entry, SyncLedger

CHUNK = 500  # sales orders mapped and posted at a time
ORDER_EXPAND = ("Details", "ShipToAddress", "ShipToContact", "BillToAddress", "BillToContact", "Totals", "Payments")


# --- outbound -----------------------------------------------------------------------------------
def read_orders(acu: AcumaticaClient, ledger: SyncLedger, *, since: datetime, until: datetime | None,
                order_types: Sequence[str] = ("SO",), keys: Sequence[str] = ()) -> Iterator[dict]:
    """Sales orders modified in the window (or the named order keys), then every order held back earlier
    (its fix may be on a stock item, which does not touch the order's LastModified)."""
    seen: set[str] = set()
    if keys:
        pages: Iterable[list[dict]] = [[_order(acu, key) for key in keys]]
    else:
        types = " or ".join(f"OrderType eq '{t}'" for t in order_types)
        pages = acu.iter_modified("SalesOrder", since, until, expand=ORDER_EXPAND, extra_filter=types or None)
    for page in pages:
        for record in page:
            if record is not None:
                seen.add(mapping.order_key(str(record.get("OrderType")), str(record.get("OrderNbr"))))
                yield record
    for entry in ledger.entries(ORDERS_FLOW, state="waiting"):
        if entry.source_id not in seen and (record := _order(acu, entry.source_id)) is not None:
            yield record


def _order(acu: AcumaticaClient, key: str) -> dict | None:
    order_type, order_nbr = mapping.parse_order_key(key) or ("SO", key)
    try:
        return acu.get("SalesOrder", order_type, order_nbr, expand=ORDER_EXPAND)
    except NotFound:
        return None


def masters_for(acu: AcumaticaClient, orders: Sequence[dict], items: dict[str, StockItem],
                customers: dict[str, Customer]) -> None:
    """Add to `items` the stock items these orders' lines name, and to `customers` the customers of orders
    whose contact lacks a name or email, each read once per run: read before the orders are mapped, so every
    line resolves to a known item (one GET each; a missing one stays missing and fails its order's line)."""
    skus = sorted({str(line.get("InventoryID")) for o in orders for line in o.get("Details") or []
                   if line.get("InventoryID")} - set(items))
    wanted = sorted({str(o.get("CustomerID")) for o in orders if o.get("CustomerID") and needs_customer(o)}
                    - set(customers))
    items.update(_read(acu, "StockItem", skus, StockItem))
    customers.update(_read(acu, "Customer", wanted, Customer))


def needs_customer(order: dict) -> bool:
    contact = order.get("ShipToContact") or {}
    return not (contact.get("Attention") or contact.get("BusinessName")) or not contact.get("Email")


def _read(acu: AcumaticaClient, entity: str, ids: Sequence[str], model: type) -> dict:
    found = {}
    for key in ids:
        try:
            found[key] = model.from_raw(acu.get(entity, key))
        except (NotFound, RecordError):
            continue
    return found


def post_orders(acu: AcumaticaClient, ss: ShipStationClient, ledger: SyncLedger, cfg: OutboundConfig, run_id: str,
                *, since: datetime, until: datetime | None = None, order_types: Sequence[str] = ("SO",),
                keys: Sequence[str] = ()) -> SalesOrderPoster:
    """Ready sales orders to ShipStation, exactly once, `CHUNK` at a time (memory stays flat); masters first."""
    poster = SalesOrderPoster(ShipStationOrderTarget(ss), ledger, cfg, {}, {}, run_id)
    orders = read_orders(acu, ledger, since=since, until=until, order_types=order_types, keys=keys)
    while chunk := list(islice(orders, CHUNK)):
        masters_for(acu, chunk, poster.items, poster.customers)
        poster.post(chunk)
    return poster


# --- inbound ------------------------------------------------------------------------------------
def label_records(ss: ShipStationClient, pages: Iterable[list[dict]]) -> Iterator[LabelRecord]:
    """Parsed labels; a label read without items (a SHIP_NOTIFY URL says includeShipmentItems=False) is
    read again with its order's labels, so every label knows which lines it shipped."""
    refetched: dict[int, dict[int, dict]] = {}
    for page in pages:
        for raw in page:
            if raw.get("shipmentItems") is None and isinstance(raw.get("orderId"), int):
                order_id = raw["orderId"]
                if order_id not in refetched:
                    refetched[order_id] = {r["shipmentId"]: r for p in ss.iter_order_shipment_pages_raw(order_id)
                                           for r in p}
                raw = refetched[order_id].get(raw.get("shipmentId"), raw)
            yield label_record(raw)


def label_record(raw: dict) -> LabelRecord:
    try:
        return LabelRecord(Label.from_raw(raw), raw)
    except RecordError as error:
        return LabelRecord(None, {**raw, "_parse_error": str(error)})


def post_shipments(acu: AcumaticaClient, ss: ShipStationClient, ledger: SyncLedger, cfg: InboundConfig, run_id: str,
                   pages: Iterable[list[dict]]) -> ShipmentPoster:
    """Labels to Acumatica shipments; voided labels reverse theirs."""
    poster = ShipmentPoster(ShipmentTarget(acu), ledger, cfg, run_id)
    poster.post(label_records(ss, pages))
    return poster


def posted_shipments(ledger: SyncLedger, *, day: date | None = None) -> list[PostedShipment]:
    """Every label whose shipment the ledger holds (voided ones marked), optionally only those shipped on `day`."""
    rows = [PostedShipment.from_entry(e) for e in ledger.entries(SHIPMENTS_FLOW, state="posted") if e.target_id]
    return [r for r in rows if day is None or r.ship_date == day]


def confirm_shipments(acu: AcumaticaClient, ledger: SyncLedger, cfg: InboundConfig, scanned: Scanned,
                      run_id: str) -> ConfirmPoster:
    """Confirm every posted shipment not confirmed yet whose label counts as fulfilled now (FULFIL_ON).

    Shipments already confirmed are passed over before any tracking is read (a voided one still goes
    through, so its confirmation is marked reversed)."""
    poster = ConfirmPoster(ConfirmTarget(acu), ledger, cfg, scanned, run_id)
    posted = posted_shipments(ledger)
    done = ledger.outcomes(CONFIRM_FLOW, SHIPMENTS_TARGET, [str(p.label_id) for p in posted])
    poster.post(p for p in posted if not _settled(done.get(str(p.label_id)), p.voided))
    return poster


def _settled(entry: Entry | None, voided: bool) -> bool:
    return entry is not None and entry.state in ("posted", "skipped") and (bool(entry.cancelled) or not voided)


def post_freight(acu: AcumaticaClient, ledger: SyncLedger, cfg: InboundConfig, run_id: str, day: date
                 ) -> FreightPoster:
    """The day's label costs onto their shipments, in the books' currency (or flagged)."""
    poster = FreightPoster(FreightTarget(acu), ledger, cfg, run_id)
    poster.post(posted_shipments(ledger, day=day))
    return poster


def orders_sent(ledger: SyncLedger) -> int:
    """How many orders the ledger holds as in ShipStation (for metadata)."""
    return sum(1 for e in ledger.entries(ORDERS_FLOW, state="posted") if e.target == ORDERS_TARGET)
