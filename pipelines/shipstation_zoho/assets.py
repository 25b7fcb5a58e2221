"""ShipStation orders -> Zoho Books contacts and invoices: stage orders, post contacts, post invoices."""


from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from pipelines.metadata import FINANCE, OPERATIONS
from pipelines.shipstation_zoho import staged
from pipelines.shipstation_zoho.mapping import contact_body, contact_email
from pipelines.shipstation_zoho.outcomes import daily_cap, report_metadata
from pipelines.shipstation_zoho.posting import CONTACTS_FLOW, INVOICES_FLOW, ContactPoster, InvoicePoster
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from pipelines.shipstation_zoho.window import parse_instant, resolve
from pipelines.sides.errors import MappingError
from pipelines.sides.shipstation import reading
from pipelines.sides.shipstation.config import OrdersWindowConfig
from pipelines.sides.zoho_books import TARGET
from pipelines.sides.zoho_books.contacts import ZohoContactTarget
from pipelines.sides.zoho_books.invoices import ZohoInvoiceTarget
from pipelines.sides.zoho_books.items import ItemCatalog
from pipelines.staged import staged_run
from resources import ShipStationResource, StateResource, ZohoBooksResource
from state.audit_hook import AuditHook
from state.ledger import SyncLedger
from state.staging import StagingStore

GROUP = "shipstation_zoho"
ORDERS = dg.AssetKey(["shipstation", "orders_to_zoho"])
CONTACTS = dg.AssetKey(["zoho_books", "contacts"])
INVOICES = dg.AssetKey(["zoho_books", "invoices"])


@dg.asset(key=ORDERS, group_name=GROUP, kinds={"shipstation", "duckdb"}, owners=[OPERATIONS])
def shipstation_orders_to_zoho(context: dg.AssetExecutionContext, config: OrdersWindowConfig,
                               shipstation: ShipStationResource, state: StateResource,
                               zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """Orders modified in the window (or the given orders), staged page by page in DuckDB."""
    now = datetime.now(UTC)
    window = resolve(config.modify_date_start, config.modify_date_end, parse_instant(zoho_flow.sync_start), now)
    store, seq, gone = state.staging(), 0, []
    with shipstation.client() as client:
        for page in reading.order_pages(client, start=window.start, end=window.end, order_ids=config.order_ids,
                                        resource_urls=config.resource_urls, gone=gone):
            seq = store.stage_orders(context.run_id, seq, now, page, [reading.modify_date(r) for r in page])
    return dg.MaterializeResult(metadata={"orders_read": seq, "orders_gone": len(gone),
                                          "window_start": window.start.isoformat(),
                                          "window_end": window.end.isoformat()})


@dg.asset(key=CONTACTS, group_name=GROUP, kinds={"zoho_books"}, owners=[FINANCE], deps=[ORDERS])
def zoho_contacts(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource, state: StateResource,
                  zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """A Zoho contact for every staged order's customer: found by email, else created from its billing details."""
    store, ledger = state.staging(), state.ledger()
    hook = audit(ledger, context.run_id, CONTACTS_FLOW)
    with zoho_books.client(hook) as client:
        poster = ContactPoster(ZohoContactTarget(client, hook), ledger, context.run_id,
                               batch_size=zoho_flow.batch_size)
        with daily_cap(poster):
            poster.post(order_contacts(store, staged_run(context, ORDERS)))
    conflicts = sum(1 for f in poster.report.failures if f.get("error", "").find("conflict") >= 0)
    return dg.MaterializeResult(metadata=report_metadata(poster.report, conflicts=conflicts))


@dg.asset(key=INVOICES, group_name=GROUP, kinds={"zoho_books"}, owners=[FINANCE], deps=[CONTACTS])
def zoho_invoices(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource, state: StateResource,
                  zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """One invoice per staged order: created, updated, voided or skipped exactly once; paid ones never overwritten."""
    store, ledger = state.staging(), state.ledger()
    hook = audit(ledger, context.run_id, INVOICES_FLOW)
    with zoho_books.client(hook) as client:
        poster: InvoicePoster | None = None
        with daily_cap(lambda: poster):
            poster = invoice_poster(client, ledger, zoho_flow, context.run_id, hook)
            poster.post(order_records(store, staged_run(context, ORDERS)))
        items_created = len(poster.items.created)
    return dg.MaterializeResult(metadata=report_metadata(poster.report, paid_conflicts=poster.paid_conflicts,
                                                         items_created=items_created))


def audit(ledger: SyncLedger, run_id: str, flow: str) -> AuditHook:
    """The audit trail's hook for one run's Zoho requests."""
    return AuditHook(ledger.audit, run_id=run_id, flow=flow, system="zoho_books")


def invoice_poster(client, ledger: SyncLedger, flow: ShipStationZohoSettings, run_id: str,
                   hook: AuditHook | None = None) -> InvoicePoster:
    """The invoice poster of one run: contact ids from the contacts ledger, items by SKU from Zoho."""
    target = ZohoInvoiceTarget(client, unique_field=flow.invoice_unique_field, audit=hook)
    items = ItemCatalog(client, flow.missing_items, ledger=ledger, run_id=run_id)  # type: ignore[arg-type]
    return InvoicePoster(target, ledger, run_id, contacts=contact_lookup(ledger), items=items,
                         cfg=flow.invoice_config(), batch_size=flow.batch_size)


def contact_lookup(ledger: SyncLedger):
    """email -> the Zoho contact id the contacts step recorded (None: not posted, e.g. a conflict)."""
    def lookup(email: str) -> str | None:
        entry = ledger.get(CONTACTS_FLOW, email, TARGET)
        return entry.target_id if entry is not None and entry.state == "posted" else None
    return lookup


def order_contacts(store: StagingStore, run_id: str) -> Iterator[tuple[str, dict, dict]]:
    """(email, contact body, order) once per email among the run's staged orders (the newest order wins)."""
    seen: dict[str, tuple[str, dict, dict]] = {}
    for chunk in store.iter_staged_orders(run_id):
        for order, raw in reading.parse_orders(chunk):
            if order is None or order.order_status == "cancelled":
                continue  # the invoice step reports unparsable orders; a cancelled one needs no contact
            try:
                seen[contact_email(order)] = (contact_email(order), contact_body(order), raw)
            except MappingError:
                continue  # the invoice step fails the order, naming the field
    return iter(seen.values())


def order_records(store: StagingStore, run_id: str) -> Iterator[tuple]:
    """(order, raw, its staged labels) for the run's staged orders, a chunk at a time."""
    for chunk in store.iter_staged_orders(run_id):
        labels = staged.labels_of_orders(store, [r["orderId"] for r in chunk if str(r.get("orderId", "")).isdigit()])
        for order, raw in reading.parse_orders(chunk):
            yield order, raw, staged.parsed_labels(labels.get(order.order_id if order else -1, []))



ASSETS = [shipstation_orders_to_zoho, zoho_contacts, zoho_invoices]
