"""What a replay of the Acumatica <-> ShipStation flows would send, shown before anything is sent.

Each preview runs the flow's own poster (`prepare`, on a read-only `DryLedger`) over the record the ledger
kept and renders the requests the target makes:

- an Acumatica sales order as the ShipStation order (`POST /orders/createorders`, the body as `wire` sends
  it; `POST /orders/createorder` after reading the order when ShipStation has it). The run reads each
  line's stock item (and, where the order's contact lacks a name or email, its customer) from Acumatica
  just before mapping, and nothing of them is staged: the item's weight and the values taken from those
  masters are marked placeholders, and the item is taken as active (one that is not, or has no weight,
  holds the order back at send time, as the placeholder says);
- a ShipStation label as its Acumatica Shipment (`PUT .../Shipment?$expand=Packages`, the body in
  Acumatica's value objects as `codec.wrap` sends it), against the order the ledger says we sent; a voided
  label as the correction and delete of its shipment.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from connectors.acumatica import codec
from connectors.acumatica.models import Customer, StockItem
from connectors.acumatica.settings import ENTITY_ROOT
from connectors.shipstation.order_writes import CREATE_ORDER_PATH, CREATE_ORDERS_PATH
from pipelines.acumatica_shipstation.posting import LabelRecord, SalesOrderPoster, ShipmentPoster
from pipelines.acumatica_shipstation.runs import label_record, needs_customer
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationSettings
from pipelines.acumatica_shipstation.target import ShipmentTarget
from pipelines.flow import PreviewSources
from pipelines.replay import DryLedger, NotSent, at_send_time, claim_action, json_request, prepared
from pipelines.sides.shipstation.target import ShipStationOrderTarget, wire
from state.ledger import Entry

PREVIEW_RUN = "replay-preview"


def order_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The ShipStation request the replay would send for this Acumatica sales order."""
    if not entry.source_payload:
        return None
    raw = json.loads(entry.source_payload)
    items = {sku: _item_at_send_time(sku) for sku in _skus(raw)}
    customer_id = str(raw.get("CustomerID") or "") if isinstance(raw, dict) else ""
    customers = {customer_id: _customer_at_send_time(customer_id)} if customer_id and needs_customer(raw) else {}
    poster = SalesOrderPoster(ShipStationOrderTarget(None), DryLedger(sources.ledger),  # type: ignore[arg-type]
                              _flow(sources).outbound(), items, customers, PREVIEW_RUN)
    try:
        item = prepared(poster, raw)
    except NotSent:
        if poster.not_ready:
            raise NotSent(f"it is passed over: {next(iter(poster.not_ready))}") from None
        raise
    verb = claim_action(entry, item)
    if verb == "create":
        return json_request("POST", CREATE_ORDERS_PATH, [wire(_weights_at_send_time(item.payload))])
    read_first = (f"GET /orders/{entry.target_id} first: a shipped or cancelled order is not changed (both versions "
                  "are reported)\n")
    if verb == "cancel":
        return read_first + json_request("POST", CREATE_ORDER_PATH, {
            "(every field)": at_send_time(f"order {entry.target_id} as ShipStation holds it"),
            "orderStatus": "cancelled"})
    return read_first + json_request("POST", CREATE_ORDER_PATH, wire(_weights_at_send_time(item.payload)))


def _skus(raw: Any) -> list[str]:
    lines = raw.get("Details") if isinstance(raw, dict) else None
    return sorted({str(line["InventoryID"]) for line in lines or [] if isinstance(line, dict) and
                   line.get("InventoryID")})


def _item_at_send_time(sku: str) -> StockItem:
    """A stand-in for the stock item the run reads: its weight is replaced by a placeholder once mapped."""
    return StockItem(InventoryID=sku, Description=at_send_time(f"description of stock item {sku}, read from Acumatica"),
                     ItemStatus="Active", DimensionWeight=Decimal(1), WeightUOM="LB")


def _customer_at_send_time(customer_id: str) -> Customer:
    return Customer(CustomerID=customer_id, CustomerName=at_send_time(f"name of customer {customer_id}, read from "
                                                                      "Acumatica"),
                    Email=at_send_time(f"email of customer {customer_id}, read from Acumatica"))


def _weights_at_send_time(body: dict) -> dict:
    items = [{**line, "weight": at_send_time(
        f"DimensionWeight and WeightUOM of stock item {line['sku']}, read from Acumatica (none, zero or an inactive "
        "item: the order is held back)")} for line in body["items"]]
    return {**body, "items": items}


def shipment_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The Acumatica request the replay would send for this ShipStation label."""
    if not entry.source_payload:
        return None
    raw = json.loads(entry.source_payload)
    if isinstance(raw, dict) and raw.get("shipmentItems") is None and isinstance(raw.get("orderId"), int):
        raise NotSent("not yet: the label was kept without its items; the run reads them from ShipStation first, "
                      "then maps the shipment")
    poster = ShipmentPoster(ShipmentTarget(None), DryLedger(sources.ledger), _flow(sources).inbound(),  # type: ignore[arg-type]
                            PREVIEW_RUN)
    record = label_record(raw) if isinstance(raw, dict) else LabelRecord(None, {"_parse_error": str(raw)})
    item = prepared(poster, record)
    settings = sources.settings
    shipments = f"{ENTITY_ROOT}/{settings.acumatica_endpoint_name}/{settings.acumatica_endpoint_version}/Shipment"
    verb = claim_action(entry, item)
    if verb == "create":
        return json_request("PUT", f"{shipments}?$expand=Packages", codec.wrap(item.payload))
    if verb == "alter":
        header = {k: item.payload.get(k) for k in ("ShipmentDate", "ShipVia")}
        return json_request("PUT", shipments, codec.wrap({"ShipmentNbr": entry.target_id, **header}))
    return (f"GET {shipments}/{entry.target_id} first: an invoiced shipment is refused (reverse the invoice "
            f"first); a confirmed one is corrected first (POST {shipments}/CorrectShipment with ShipmentNbr "
            f"{entry.target_id})\n" + json_request("DELETE", f"{shipments}/{entry.target_id}"))


def _flow(sources: PreviewSources) -> AcumaticaShipStationSettings:
    return sources.once("acumatica_shipstation.settings",
                        lambda: AcumaticaShipStationSettings.from_settings(sources.settings))
