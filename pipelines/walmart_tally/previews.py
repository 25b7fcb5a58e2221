"""What a replay of the Walmart <-> TallyPrime flows would send, shown before anything is sent.

Each preview runs the flow's own poster (`prepare`, on a read-only `DryLedger`) and renders the import
XML exactly as `TallyTarget` sends it (created, or altered or cancelled by the MasterId the ledger holds):

- a purchase order (the raw PO the ledger kept) as its Sales voucher, after the party ledgers the run
  creates first (`parties.wanted`, against the ledgers last staged and those the ledger says we created);
- a return (the raw return the ledger kept; source id `return:PO`) as its Credit Note against the party
  and bill of the posted sale the ledger records;
- a settlement (source id the report date; the ledger keeps no payload for it) as its Receipts and fee
  Journal, from the coded totals staged for that date, exactly as `post_settlement` builds them.

The stock items are the Tally stock items last staged (the run reads them from Tally). A record the run
would hold again raises with the reason naming the field.

Outbound, a SKU of `tally-stock-to-walmart` (its failed inventory update) previews as the
`PUT /v3/inventory` the run sends, planned from the Tally stock last staged as the run plans it.
"""

from __future__ import annotations

import json

from connectors.common.errors import RecordError
from connectors.walmart.items import INVENTORY_PATH, inventory_entry
from connectors.walmart.models import ReturnOrder
from pipelines.flow import PreviewSources
from pipelines.posting import PostItem
from pipelines.replay import (
    DryLedger,
    NotSent,
    WouldFail,
    claim_action,
    json_request,
    offline_tally,
    prepared,
    tally_import,
    unseen,
)
from pipelines.sides.errors import MappingError
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.skus import SkuResolver
from pipelines.sides.tally.stock import StockStage
from pipelines.walmart_tally import parties
from pipelines.walmart_tally.mapping import party_group
from pipelines.walmart_tally.outbound_plan import plan_offers
from pipelines.walmart_tally.outbound_settings import WalmartOutboundConfig
from pipelines.walmart_tally.posting import (
    RECEIPT_FLOW,
    CreditNotePoster,
    SalesPoster,
    VoucherPoster,
    parse_order,
    posted_sales,
)
from pipelines.walmart_tally.settings import WalmartTallySettings
from pipelines.walmart_tally.settlement import SettlementBook, settlement_vouchers
from pipelines.walmart_tally.settlement_assets import restore_types, settlement_summary
from pipelines.walmart_tally.staging import WalmartStaging, book_from_json
from state.ledger import Candidate, Entry

PREVIEW_RUN = "replay-preview"


def sales_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The Sales voucher import the replay would send for this purchase order, after any party ledger it
    creates first."""
    if not entry.source_payload:
        return None
    raw = json.loads(entry.source_payload)
    flow, ledger = _flow(sources), DryLedger(sources.ledger)
    cfg = flow.sales_config()
    known = _known_ledgers(sources, ledger)
    order, _ = parse_order(raw) if isinstance(raw, dict) else (None, None)
    wants = parties.wanted([order], cfg, known) if order is not None else []
    first = "".join(f"first creates party ledger {w.master.name!r} under {party_group(order, cfg)!r} "
                    "(not among the ledgers last staged)\n" for w in wants)
    poster = SalesPoster(offline_tally(cfg.voucher_type), ledger, cfg, _skus(sources, flow),
                         known | {w.master.name for w in wants}, PREVIEW_RUN)
    item = prepared(poster, raw)
    return first + tally_import(sources.settings.tally_company, poster.target, entry, item)


def credit_note_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The Credit Note import the replay would send for this return and purchase order."""
    if not entry.source_payload:
        return None
    try:
        ret = ReturnOrder.from_raw(json.loads(entry.source_payload))
    except (RecordError, ValueError) as exc:
        raise WouldFail(f"Walmart return {entry.source_id}: {exc}") from None
    if not ret.refunded:
        raise NotSent("the return is not refunded yet: the run passes it over until Walmart completes the refund")
    po = entry.source_id.rpartition(":")[2]
    flow, ledger = _flow(sources), DryLedger(sources.ledger)
    cfg = flow.sales_config()
    poster = CreditNotePoster(offline_tally(cfg.credit_note_type), ledger, cfg, _skus(sources, flow),
                              posted_sales(ledger, [po]), PREVIEW_RUN)  # type: ignore[arg-type]
    item = prepared(poster, (ret, po))
    return tally_import(sources.settings.tally_company, poster.target, entry, item)


def settlement_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The Receipts and fee Journal the replay would send for this settlement, from its staged totals."""
    report_date = entry.source_id
    staging, ledger = WalmartStaging(sources.staging), DryLedger(sources.ledger)
    row = staging.settlement(report_date)
    if row is None:
        raise NotSent("not staged: the run downloads the report first; only then can its vouchers be built")
    book = SettlementBook(*book_from_json(row["book"]))
    restore_types(staging, report_date, book)
    posted = {po: party for po, (party, _) in posted_sales(ledger, sorted(book.bills)).items()}  # type: ignore[arg-type]
    names = _flow(sources).settlement_ledgers()
    try:
        vouchers = settlement_vouchers(report_date, book, settlement_summary(row), posted, names)
    except (MappingError, ArithmeticError) as exc:
        raise WouldFail(str(exc)) from None
    company, record = sources.settings.tally_company, {"report_date": report_date}
    shown = [_settlement_voucher(company, RECEIPT_FLOW, names.receipt_type, ledger,
                                 (f"{report_date}#{key.rsplit('-r', 1)[1]}", key, voucher, record))
             for key, voucher in vouchers.receipts]
    if vouchers.journal:
        shown.append(_settlement_voucher(company, entry.flow, names.journal_type, ledger,
                                         (report_date, *vouchers.journal, record), entry))
    return "".join(shown) or "nothing to post: no bill or ledger of the settlement has an amount"


def _settlement_voucher(company: str, flow: str, voucher_type: str, ledger: DryLedger, record: tuple,
                        entry: Entry | None = None) -> str:
    """One settlement voucher as its `VoucherPoster` prepares it and the ledger's claim decides for it."""
    source_id, key = record[0], record[1]
    poster = VoucherPoster(flow, offline_tally(voucher_type), ledger, PREVIEW_RUN)
    item = prepared(poster, record)
    known = entry or ledger.get(flow, source_id, TARGET) or unseen(flow, source_id, TARGET, key)
    try:
        return f"{key}:\n" + tally_import(company, poster.target, known, item)
    except NotSent as why:
        return f"{key}: sends nothing, {why}\n"


def inventory_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The inventory update the replay's run would send Walmart for this SKU: the closing stock of its Tally
    stock item as last staged (`tally/stock_prices`), less WALMART_STOCK_BUFFER, planned as the run plans it.

    The run also re-sends the SKU's failed price, and sends one call per SKU only while at most
    WALMART_FEED_THRESHOLD SKUs go (more go as one bulk feed holding this same entry)."""
    sku = entry.source_id
    config, changes, errors = sources.once("walmart_tally.inventory", lambda: _inventory_plan(sources))
    if sku in errors:
        raise WouldFail(str(errors[sku]))
    change = changes.get(sku)
    if change is None:
        raise NotSent(f"it is passed over: no staged Tally stock item gives SKU {sku} now")
    item = PostItem(f"SKU {sku}", sku, None, {}, change.update, Candidate(sku, entry.external_key, change.digest))
    claim_action(entry, item)  # an unchanged quantity Walmart already accepted is not sent again
    listed = " (WALMART_LISTED_ONLY: sent only if Walmart lists the SKU, read at send time)" if config.listed_only \
        else ""
    query = "&".join(f"{k}={v}" for k, v in (("sku", sku), ("shipNode", config.ship_node)) if v)
    return json_request("PUT", f"{INVENTORY_PATH}?{query}", inventory_entry(change.update)) + listed


def _inventory_plan(sources: PreviewSources) -> tuple[WalmartOutboundConfig, dict, dict]:
    """The outbound settings, and the inventory changes and errors by SKU, planned once a dry run."""
    from pipelines.walmart_tally.outbound import changes_of  # outbound wires this preview: imported when used

    config = WalmartOutboundConfig.from_settings(sources.settings, sources.settings.tally_timezone)
    stock = StockStage(sources.staging).sellable(config.today(), config.price_level or None)
    plan = plan_offers(stock, config.sku_map(), buffer=config.stock_buffer, only_mapped=config.sku_map_only)
    changes, errors = changes_of("inventory", plan, config.currency)
    return config, {c.update.sku: c for c in changes}, {e.record: e for e in errors}


def _flow(sources: PreviewSources) -> WalmartTallySettings:
    settings = sources.settings
    return sources.once("walmart_tally.settings", lambda: WalmartTallySettings.from_settings(
        settings, settings.tally_timezone, getattr(settings, "walmart_sku_map", None)))


def _skus(sources: PreviewSources, flow: WalmartTallySettings) -> SkuResolver:
    return sources.once("walmart_tally.skus", lambda: SkuResolver.build(sources.staging.tally_stock_items(),
                                                                        flow.sku_map()))


def _known_ledgers(sources: PreviewSources, ledger: DryLedger) -> set[str]:
    """The Tally ledgers last staged and those our runs created (a copy: a preview adds what its run creates)."""
    return set(sources.once("walmart_tally.ledgers", lambda: {name for name, _ in sources.staging.tally_ledgers()} | {
        e.source_id for e in ledger.entries(parties.FLOW, "posted")}))
