"""Reading ShipStation orders and labels for any flow: by window, by id, or behind webhook URLs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.common.errors import NotFound, RecordError
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.models import Order
from connectors.shipstation.paginate import modify_date_of, record_date
from connectors.shipstation.shipments import Shipment

RawPage = list[dict]


def order_pages(client: ShipStationClient, *, start: datetime, end: datetime, order_ids: list[int] = (),
                resource_urls: list[str] = (), gone: list[int] | None = None) -> Iterator[RawPage]:
    """Raw order pages: behind webhook URLs, else the named orders (ids ShipStation lacks go to `gone`),
    else every order modified in [start, end]."""
    if resource_urls:
        return (page for url in resource_urls for kind, page in client.iter_resource_pages(url) if kind == "orders")
    if order_ids:
        return _by_id_pages(client, list(order_ids), gone if gone is not None else [])
    return client.iter_order_pages_raw(start, end)


def _by_id_pages(client: ShipStationClient, order_ids: list[int], gone: list[int],
                 size: int = 100) -> Iterator[RawPage]:
    for first in range(0, len(order_ids), size):
        page = []
        for order_id in order_ids[first:first + size]:
            try:
                page.append(client.get_order_raw(order_id))
            except NotFound:  # merged-away or deleted orders 404 (ShipStation reference §6.7)
                gone.append(order_id)
        yield page


def shipment_pages(client: ShipStationClient, *, created: tuple[datetime, datetime],
                   voided: tuple[datetime, datetime], order_ids: list[int] = (),
                   resource_urls: list[str] = ()) -> Iterator[RawPage]:
    """Raw label pages: behind webhook URLs, else every label of the named orders, else labels created
    in `created` and labels voided in `voided` (V1 shipments have no modifyDate, reference §6.3)."""
    if resource_urls:
        for url in resource_urls:
            yield from (page for kind, page in client.iter_resource_pages(url) if kind == "shipments")
        return
    if order_ids:
        for order_id in order_ids:
            yield from client.iter_order_shipment_pages_raw(order_id)
        return
    yield from client.iter_shipment_pages_raw(*created, by="create")
    yield from client.iter_shipment_pages_raw(*voided, by="void")


def modify_date(raw: Any) -> datetime | None:
    """An order's modifyDate for a snapshot; a bad value is left for posting to report."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return modify_date_of(raw)
    except RecordError:
        return None


def shipment_dates(raw: dict) -> tuple[datetime | None, datetime | None]:
    """A label's createDate and voidDate for a snapshot; a bad value is left for posting to report."""
    dates: list[datetime | None] = []
    for name in ("createDate", "voidDate"):
        try:
            dates.append(record_date(raw, name, ("shipmentId",)) if raw.get(name) else None)
        except RecordError:
            dates.append(None)
    return dates[0], dates[1]


def parse_orders(raws: Iterable[Any]) -> Iterator[tuple[Order | None, dict]]:
    """Parse raw orders; one that does not parse comes back as `(None, raw)` naming the field (a record that
    is not a JSON object comes back wrapped, `{"_raw": ..., "_parse_error": ...}`, so it can be held too)."""
    for raw in raws:
        if not isinstance(raw, Mapping):
            yield None, not_an_object(raw)
            continue
        try:
            yield Order.from_raw(raw), raw
        except RecordError as exc:
            yield None, {**raw, "_parse_error": str(exc)}


_PARTY_FIELDS = ("billTo", "shipTo", "customerEmail", "customerUsername")
_PARTY_SNAKE = ("bill_to", "ship_to", "customer_email", "customer_username")


def party_candidates(raw: Any) -> tuple[str | None, str | None, str | None, str | None] | None:
    """An order's bill-to name, ship-to name, customer email and user name read straight from the raw
    record, without parsing the whole order (a tenth of the cost): what `Order.from_raw` would give
    for them, up to surrounding whitespace. None when the record is not plain enough to be sure
    (not an object, a name that is not a string, a field also given in snake_case): parse it then."""
    if not isinstance(raw, Mapping) or any(key in raw for key in _PARTY_SNAKE):
        return None
    bill, ship, email, user = (raw.get(key) for key in _PARTY_FIELDS)
    names: list[str | None] = []
    for address in (bill, ship):
        if address is None:
            names.append(None)
            continue
        if not isinstance(address, Mapping):
            return None
        name = address.get("name")
        if name is not None and not isinstance(name, str):
            return None
        names.append(name)
    if not all(value is None or isinstance(value, str) for value in (email, user)):
        return None
    return names[0], names[1], email, user


def not_an_object(raw: Any) -> dict:
    """A record that is not a JSON object, wrapped so it can be held and shown: its text, cut, and why."""
    return {"_raw": repr(raw)[:2000], "_parse_error": f"the record is a {type(raw).__name__}, not a JSON object"}


def parse_shipments(raws: Iterable[Any], orders: dict[int, dict]) -> Iterator[tuple[Shipment | None, Order | None,
                                                                                    dict]]:
    """(label, its order if known, raw) per raw label; one that does not parse gives (None, None, raw)."""
    for raw in raws:
        if not isinstance(raw, Mapping):
            yield None, None, not_an_object(raw)
            continue
        try:
            shipment = Shipment.from_raw(raw)
        except RecordError as exc:
            yield None, None, {**raw, "_parse_error": str(exc)}
            continue
        order_raw = orders.get(shipment.order_id) if shipment.order_id is not None else None
        try:
            order = Order.from_raw(order_raw) if order_raw else None
        except RecordError:
            order = None  # the order's own sync reports its bad field
        yield shipment, order, raw
