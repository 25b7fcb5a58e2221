"""What a replay of the ShipStation -> TallyPrime flows would send, shown before anything is sent.

Each preview runs the flow's own poster (`prepare`, on a read-only `DryLedger`) over the source record
the ledger kept, with the merchant's settings and the Tally masters last staged (stock items, ledgers),
and renders the import XML exactly as `TallyTarget` sends it: created, altered or cancelled by the
MasterId the ledger holds. Where the run does something first, the preview shows it first: a party
ledger Tally lacks is created before its order's voucher; a shipment whose order has no voucher yet
gets that voucher first. A record the run would hold again raises with the reason naming the field.
"""

from __future__ import annotations

import json
from dataclasses import replace

from connectors.shipstation.models import Order
from pipelines.flow import PreviewSources
from pipelines.replay import DryLedger, NotSent, WouldFail, offline_tally, prepared, tally_import, unseen
from pipelines.shipstation_tally import posting
from pipelines.shipstation_tally.mapping import customer_ledger_name
from pipelines.shipstation_tally.posting import OrderVoucherPoster
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.shipments import DeliveryNotePoster
from pipelines.sides.errors import MappingError
from pipelines.sides.shipstation import reading
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.skus import SkuResolver
from state.ledger import Entry

PREVIEW_RUN = "replay-preview"


def voucher_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The import the replay would send TallyPrime for this order (the run re-reads the order first, so an
    order fixed in ShipStation since maps anew), after the party ledger it creates first if Tally lacks it."""
    if not entry.source_payload:
        return None
    [(order, raw)] = reading.parse_orders([json.loads(entry.source_payload)])
    return _order_import(entry, order, raw, sources)


def _order_import(entry: Entry, order: Order | None, raw: dict, sources: PreviewSources) -> str:
    flow = _flow(sources)
    known = known_ledgers(sources)
    first = _party_first(order, known, flow.customer_group)
    if order is not None and order.order_status != "cancelled":
        known.add(_party(order))  # the run's customer step creates it before the voucher is posted
    poster = OrderVoucherPoster(offline_tally(flow.voucher_type), DryLedger(sources.ledger),
                                flow.voucher_config(), _skus(sources, flow), known, PREVIEW_RUN)
    item = prepared(poster, (order, raw))
    return first + tally_import(sources.settings.tally_company, poster.target, entry, item)


def delivery_note_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The Delivery Note import the replay would send for this shipment, mapped against its order as last
    staged. A shipment whose order has no voucher in Tally yet gets that voucher first, as the run posts it;
    an order that was never staged is read from ShipStation by the run, so only the run can map its note."""
    if not entry.source_payload:
        return None
    raw = json.loads(entry.source_payload)
    order_id = raw.get("orderId") if isinstance(raw, dict) else None
    orders = sources.staging.orders_by_id([order_id]) if isinstance(order_id, int) else {}
    [(shipment, order, parsed)] = reading.parse_shipments([raw], orders)
    first, ledger = "", DryLedger(sources.ledger)
    if shipment is not None and not (shipment.voided or shipment.is_return_label or
                                     _voucher_posted(ledger, str(order_id))):
        if order_id not in orders:
            raise NotSent(f"order {order_id} was never staged: the run reads it from ShipStation, posts its "
                          "voucher first, then maps this note from it")
        order_entry = ledger.get(posting.FLOW, str(order_id), TARGET) or _unposted(order_id)
        first = ("first the voucher of its order (not in TallyPrime yet), as the run posts it:\n"
                 + _order_import(order_entry, order, orders[order_id], sources) + "then this Delivery Note:\n")
        ledger = _OrderPostedFirst(sources.ledger, str(order_id))
    flow = _flow(sources)
    cfg = flow.delivery_note_config()
    poster = DeliveryNotePoster(offline_tally(cfg.voucher_type), ledger, cfg,
                                _skus(sources, flow), PREVIEW_RUN)
    item = prepared(poster, (shipment, order, parsed))
    return first + tally_import(sources.settings.tally_company, poster.target, entry, item)


class _OrderPostedFirst(DryLedger):
    """The ledger as the shipment's note sees it once the run has posted its order's voucher first."""

    def __init__(self, ledger, order_id: str) -> None:
        super().__init__(ledger)
        self.order_id = order_id

    def get(self, flow: str, source_id: str, target: str) -> Entry | None:
        if flow == posting.FLOW and source_id == self.order_id:
            return replace(_unposted(self.order_id), state="posted", target_id="(posted first by this run)")
        return super().get(flow, source_id, target)


def _unposted(order_id: object) -> Entry:
    return unseen(posting.FLOW, str(order_id), TARGET, f"ss-order-{order_id}")


def _voucher_posted(ledger: DryLedger, order_id: str) -> bool:
    entry = ledger.get(posting.FLOW, order_id, TARGET)
    return entry is not None and entry.state == "posted" and entry.target_id is not None and not entry.cancelled


def _party_first(order: Order | None, known: set[str], group: str) -> str:
    if order is None or order.order_status == "cancelled" or _party(order) in known:
        return ""
    return f"first creates party ledger {_party(order)!r} under {group!r} (not in the ledgers last staged)\n"


def _party(order: Order) -> str:
    try:
        return customer_ledger_name(order)
    except MappingError as exc:
        raise WouldFail(str(exc)) from None


def _flow(sources: PreviewSources) -> ShipStationTallySettings:
    return sources.once("shipstation_tally.settings", lambda: ShipStationTallySettings.from_settings(
        sources.settings, sources.settings.tally_timezone))


def _skus(sources: PreviewSources, flow: ShipStationTallySettings) -> SkuResolver:
    return sources.once("shipstation_tally.skus", lambda: SkuResolver.build(sources.staging.tally_stock_items(),
                                                                            flow.sku_map()))


def known_ledgers(sources: PreviewSources) -> set[str]:
    """The Tally ledgers last staged (a copy: a preview adds those its run creates first)."""
    return set(sources.once("tally.ledgers", lambda: {name for name, _ in sources.staging.tally_ledgers()}))
