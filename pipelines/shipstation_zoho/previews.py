"""What a replay of the ShipStation -> Zoho Books flows would send, shown before anything is sent.

Each preview runs the flow's own poster (`prepare`, on a read-only `DryLedger`) over the record the ledger
kept and renders the requests the Zoho target makes, with the paths of `connectors.zoho_books` and the body
as `jsonwire` sends it (every amount the exact Decimal):

- an order as its invoice: `POST /invoices` (with ZOHO_INVOICE_UNIQUE_FIELD, `PUT /invoices` with Zoho's
  upsert headers), `PUT /invoices/{id}` when Zoho has it, or the void; its labels as last staged;
- a label (`label-<shipmentId>`, per_label journals) or a day (`day-<date>`, daily journals) as its shipping
  journal (`POST /journals`, `PUT /journals/{id}`, or the reversing journal of a voided label), followed by
  the tracking update the same run puts on the order's invoice when the ledger says it has one.

Values only Zoho knows, looked up when the run sends, are shown as marked placeholders, never guessed:
the contact id of a customer the contacts step has not recorded yet, an item id the ledger does not
remember (the run asks Zoho by SKU, then creates or holds per ZOHO_MISSING_ITEMS), account ids given as
names (resolved through the chart of accounts), and the lines of a journal a reversal flips.
"""

from __future__ import annotations

import json
from datetime import date

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order
from connectors.zoho_books import settings as zoho
from pipelines.flow import PreviewSources
from pipelines.posting import PostItem
from pipelines.replay import DryLedger, NotSent, WouldFail, at_send_time, claim_action, json_request, prepared
from pipelines.shipstation_zoho import staged
from pipelines.shipstation_zoho.assets import contact_lookup
from pipelines.shipstation_zoho.mapping import JournalConfig
from pipelines.shipstation_zoho.posting import INVOICES_FLOW, DayJournalPoster, InvoicePoster, LabelJournalPoster
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from pipelines.sides.shipstation import reading
from pipelines.sides.zoho_books import TARGET
from pipelines.sides.zoho_books.invoices import ZohoInvoiceTarget
from pipelines.sides.zoho_books.items import ITEMS_FLOW
from pipelines.sides.zoho_books.journals import REVERSAL_SUFFIX, ZohoJournalTarget, reversal
from state.ledger import Entry

PREVIEW_RUN = "replay-preview"


def _at(sources: PreviewSources, path: str, query: str = "") -> str:
    """A Zoho Books path as the client requests it: under the API root, for the merchant's organisation."""
    org = getattr(sources.settings, "zoho_organization_id", "") or at_send_time("ZOHO_ORGANIZATION_ID")
    return f"{zoho.API_PATH}{path}?{query}{'&' if query else ''}organization_id={org}"


def invoice_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The requests the replay would send Zoho Books for this order's invoice."""
    if not entry.source_payload:
        return None
    raw = json.loads(entry.source_payload)
    if isinstance(raw, dict) and isinstance(raw.get("order"), dict) and "flag" in raw:
        raw = raw["order"]  # a paid invoice's conflict keeps the order beside Zoho's invoice
    [(order, parsed)] = reading.parse_orders([raw])
    return _invoice_requests(entry, order, parsed, sources)


def _invoice_requests(entry: Entry, order: Order | None, raw: dict, sources: PreviewSources) -> str:
    flow, ledger = _flow(sources), DryLedger(sources.ledger)
    labels = staged.labels_of_orders(sources.staging, [order.order_id]) if order is not None else {}
    poster = InvoicePoster(ZohoInvoiceTarget(None, unique_field=flow.invoice_unique_field),  # type: ignore[arg-type]
                           ledger, PREVIEW_RUN, contacts=_contact_at_send_time(ledger),
                           items=_ItemsAtSendTime(ledger, flow.missing_items), cfg=flow.invoice_config())  # type: ignore[arg-type]
    item = prepared(poster, (order, raw, staged.parsed_labels(labels.get(order.order_id, []) if order else [])))
    verb, invoice = claim_action(entry, item), f"{zoho.INVOICES_PATH}/{entry.target_id}"
    if verb == "create" and flow.invoice_unique_field:
        return json_request("PUT", _at(sources, zoho.INVOICES_PATH), item.payload, {
            zoho.UNIQUE_KEY_HEADER: flow.invoice_unique_field, zoho.UNIQUE_VALUE_HEADER: item.key,
            zoho.UPSERT_HEADER: "true"})
    if verb == "create":
        return json_request("POST", _at(sources, zoho.INVOICES_PATH), item.payload)
    read_first = (f"GET {_at(sources, invoice)} first: a paid or part-paid invoice is not touched (the change is "
                  "kept for review)")
    if verb == "cancel":
        return (f"{read_first}; one already void is left as it is\n"
                + json_request("POST", _at(sources, f"{invoice}/status/void")))
    return (f"{read_first}; a void one is put back to draft first (POST {_at(sources, invoice + '/status/draft')})\n"
            + json_request("PUT", _at(sources, invoice), item.payload))


def _contact_at_send_time(ledger: DryLedger):
    """The contact id the contacts step recorded, else a placeholder: that step finds or creates it first."""
    recorded = contact_lookup(ledger)  # type: ignore[arg-type]

    def lookup(email: str) -> str:
        return recorded(email) or at_send_time(f"Zoho contact id of {email}, found or created by the run's contacts "
                                               "step first")
    return lookup


class _ItemsAtSendTime:
    """SKU -> Zoho item id as the run's `ItemCatalog` remembers it in the ledger; any other SKU the run looks
    up in Zoho when it sends (then creates the item, or holds the order, per ZOHO_MISSING_ITEMS)."""

    def __init__(self, ledger: DryLedger, missing: str) -> None:
        self.ledger, self.missing = ledger, missing

    def item_id(self, sku: str, *, name: str, rate: object, record: str) -> str:
        entry = self.ledger.get(ITEMS_FLOW, sku, TARGET) if sku else None
        if entry is not None and entry.state == "posted" and entry.target_id:
            return entry.target_id
        if_none = "one is created" if self.missing == "create" else "the order is held (ZOHO_MISSING_ITEMS=hold)"
        return at_send_time(f"Zoho item id looked up by SKU {sku!r}; if Zoho has none, {if_none}")


def journal_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The journal request the replay would send for this label (or day), then the tracking update the same
    run puts on the label's invoice."""
    flow, ledger = _flow(sources), DryLedger(sources.ledger)
    cfg = _journal_config(flow)
    target = ZohoJournalTarget(None)  # type: ignore[arg-type]
    if flow.shipping_journal == "daily":
        day = _day_of(entry, cfg)
        created, voided = staged.labels_of_days(sources.staging, [day], cfg.timezone)[day]
        poster = DayJournalPoster(target, ledger, PREVIEW_RUN, cfg)
        return _journal_requests(entry, prepared(poster, (day, created, voided), "no label was created or voided "
                                                 f"on {day.isoformat()}: nothing to book"), sources)
    if not entry.source_id.startswith("label-") or not entry.source_payload:
        raise NotSent("journals are booked per label now (ZOHO_SHIPPING_JOURNAL=per_label): the run books each "
                      "label of that day on its own")
    [(shipment, _, raw)] = reading.parse_shipments([json.loads(entry.source_payload)], {})
    item = prepared(LabelJournalPoster(target, ledger, PREVIEW_RUN, cfg), (shipment, raw))
    return _journal_requests(entry, item, sources) + _tracking(shipment, sources)


def _journal_requests(entry: Entry, item: PostItem, sources: PreviewSources) -> str:
    verb, journals = claim_action(entry, item), zoho.JOURNALS_PATH
    if verb == "create":
        return json_request("POST", _at(sources, journals), item.payload)
    if verb == "alter":
        return json_request("PUT", _at(sources, f"{journals}/{entry.target_id}"), item.payload)
    reference = item.key + REVERSAL_SUFFIX
    day = str((item.candidate.detail or {}).get("reversal_date") or "")
    body = reversal({"reference_number": item.key}, reference, day or at_send_time("the journal's own date"))
    body["line_items"] = at_send_time(f"every line of journal {entry.target_id} as Zoho holds it, on the other side")
    return (f"GET {_at(sources, journals, f'reference_number={reference}')} first: a reversal already booked is "
            f"not booked again; GET {_at(sources, f'{journals}/{entry.target_id}')} (the journal reversed)\n"
            + json_request("POST", _at(sources, journals), body))


def _tracking(shipment, sources: PreviewSources) -> str:
    """The invoice update the run's tracking step sends for the label's order, when the order has an invoice."""
    order_id = getattr(shipment, "order_id", None)
    invoice = DryLedger(sources.ledger).get(INVOICES_FLOW, str(order_id), TARGET) if order_id else None
    orders = sources.staging.orders_by_id([order_id]) if invoice is not None and invoice.target_id else {}
    if order_id not in orders:
        return ""
    [(order, raw)] = reading.parse_orders([orders[order_id]])
    try:
        update = _invoice_requests(invoice, order, raw, sources)
    except (NotSent, WouldFail) as why:
        update = f"nothing: {why}"
    return f"\nthen carrier and tracking onto the invoice of order {order_id}:\n{update}"


def _day_of(entry: Entry, cfg: JournalConfig) -> date:
    if entry.source_id.startswith("day-"):
        return date.fromisoformat(entry.source_id.removeprefix("day-"))
    [(shipment, _, raw)] = reading.parse_shipments([json.loads(entry.source_payload or "{}")], {})
    if shipment is None:
        raise WouldFail(raw.get("_parse_error", f"label {entry.source_id} could not be read"))
    return local_date(shipment.create_date, cfg.timezone)


def _journal_config(flow: ShipStationZohoSettings) -> JournalConfig:
    """The accounts as the run resolves them: ids as they are, names through Zoho's chart of accounts."""
    def account(value: str) -> str:
        return value if value.isdigit() else at_send_time(f"id of Zoho account {value!r}, from the chart of accounts")
    return JournalConfig(account(flow.shipping_expense_account), account(flow.shipping_clearing_account),
                         flow.timezone)


def _flow(sources: PreviewSources) -> ShipStationZohoSettings:
    settings = sources.settings
    start = getattr(settings, "shipstation_sync_start", None)
    return sources.once("shipstation_zoho.settings", lambda: ShipStationZohoSettings.from_settings(
        settings, start.isoformat() if start else "2026-01-01T00:00:00+00:00"))

