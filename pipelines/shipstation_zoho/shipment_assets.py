"""ShipStation labels -> Zoho Books: stage labels and voids, book their cost as journals, put tracking on invoices."""


from collections.abc import Iterator
from datetime import UTC, date, datetime

import dagster as dg

from connectors.common.timezones import local_date
from connectors.zoho_books.client import ZohoBooksClient
from pipelines.metadata import FINANCE, OPERATIONS
from pipelines.shipstation_zoho import staged
from pipelines.shipstation_zoho.assets import GROUP, audit, invoice_poster
from pipelines.shipstation_zoho.mapping import JournalConfig
from pipelines.shipstation_zoho.outcomes import daily_cap, report_metadata
from pipelines.shipstation_zoho.posting import INVOICES_FLOW, JOURNALS_FLOW, DayJournalPoster, LabelJournalPoster
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from pipelines.sides.errors import MappingError
from pipelines.sides.shipstation import reading
from pipelines.sides.shipstation.labels import LabelsWindowConfig, label_pages, stage_label_pages
from pipelines.sides.zoho_books import TARGET
from pipelines.sides.zoho_books.journals import ZohoJournalTarget
from pipelines.staged import staged_run
from pipelines.windows import parse_instant
from resources import ShipStationResource, StateResource, ZohoBooksResource

LABELS = dg.AssetKey(["shipstation", "labels_to_zoho"])
JOURNALS = dg.AssetKey(["zoho_books", "shipping_journals"])
TRACKING = dg.AssetKey(["zoho_books", "invoice_tracking"])


@dg.asset(key=LABELS, group_name=GROUP, kinds={"shipstation", "duckdb"}, owners=[OPERATIONS])
def shipstation_labels_to_zoho(context: dg.AssetExecutionContext, config: LabelsWindowConfig,
                               shipstation: ShipStationResource, state: StateResource,
                               zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """Labels created in the window and labels voided in it (ShipStation reference §6.3), staged in DuckDB."""
    now = datetime.now(UTC)
    with shipstation.client() as client:
        pages = label_pages(client, config, parse_instant(zoho_flow.sync_start), now)
        seq = stage_label_pages(state.staging(), context.run_id, pages, now)
    return dg.MaterializeResult(metadata={"labels_read": seq})


@dg.asset(key=JOURNALS, group_name=GROUP, kinds={"zoho_books"}, owners=[FINANCE], deps=[LABELS])
def zoho_shipping_journals(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource, state: StateResource,
                           zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """Each label's cost as a journal (or one journal a day); a voided label's cost is reversed."""
    store, ledger, run = state.staging(), state.ledger(), staged_run(context, LABELS)
    hook = audit(ledger, context.run_id, JOURNALS_FLOW)
    with zoho_books.client(hook) as client:
        cfg = journal_config(client, zoho_flow)
        target = ZohoJournalTarget(client, hook)
        if zoho_flow.shipping_journal == "daily":
            poster = DayJournalPoster(target, ledger, context.run_id, cfg, batch_size=zoho_flow.batch_size)
            records = _days(store, run, cfg.timezone)
        else:
            poster = LabelJournalPoster(target, ledger, context.run_id, cfg, batch_size=zoho_flow.batch_size)
            records = reading.parse_shipments((r for chunk in store.iter_staged_shipments(run) for r in chunk), {})
            records = ((shipment, raw) for shipment, _, raw in records)
        with daily_cap(poster):
            poster.post(records)
    return dg.MaterializeResult(metadata=report_metadata(poster.report, mode=zoho_flow.shipping_journal))


@dg.asset(key=TRACKING, group_name=GROUP, kinds={"zoho_books"}, owners=[OPERATIONS], deps=[LABELS])
def zoho_invoice_tracking(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource, state: StateResource,
                          zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """Carrier and tracking of each staged label onto its order's invoice (orders with an invoice only)."""
    store, ledger, run = state.staging(), state.ledger(), staged_run(context, LABELS)
    order_ids = sorted({int(r["orderId"]) for chunk in store.iter_staged_shipments(run) for r in chunk
                        if str(r.get("orderId") or "").isdigit()})
    invoiced = [i for i, e in ledger.outcomes(INVOICES_FLOW, TARGET, [str(i) for i in order_ids]).items()
                if e.target_id]
    orders = store.orders_by_id([int(i) for i in invoiced])
    labels = staged.labels_of_orders(store, orders)
    hook = audit(ledger, context.run_id, INVOICES_FLOW)
    with zoho_books.client(hook) as client:
        poster = None
        with daily_cap(lambda: poster):
            poster = invoice_poster(client, ledger, zoho_flow, context.run_id, hook)
            poster.post((o, raw, staged.parsed_labels(labels.get(oid, [])))
                        for oid, (o, raw) in _parsed(orders))
    return dg.MaterializeResult(metadata=report_metadata(poster.report, orders_with_labels=len(order_ids),
                                                         invoiced=len(invoiced)))


def journal_config(client: ZohoBooksClient, flow: ShipStationZohoSettings) -> JournalConfig:
    """Account settings may be ids or names: names are resolved through the chart of accounts once a run.

    Two ids (Zoho account ids are all digits) cost no request at all: the daily cap is small.
    """
    wanted = (flow.shipping_expense_account, flow.shipping_clearing_account)
    if all(value.isdigit() for value in wanted):
        return JournalConfig(*wanted, flow.timezone)
    accounts = {str(a.get("account_name")): str(a["account_id"]) for a in client.list_accounts()}
    ids = set(accounts.values())

    def account(value: str, setting: str) -> str:
        if value in ids:
            return value
        if value in accounts:
            return accounts[value]
        raise MappingError("settings", setting, f"no Zoho account {value!r} (give its name or id)")

    return JournalConfig(account(flow.shipping_expense_account, "ZOHO_SHIPPING_EXPENSE_ACCOUNT"),
                         account(flow.shipping_clearing_account, "ZOHO_SHIPPING_CLEARING_ACCOUNT"), flow.timezone)


def _days(store, run: str, tz: str) -> Iterator[tuple[date, list, list]]:
    """Every day the run's labels touched (created or voided on), with all staged labels of those days."""
    touched: set[date] = set()
    for shipment, _, _ in reading.parse_shipments((r for c in store.iter_staged_shipments(run) for r in c), {}):
        if shipment is not None:
            touched.add(local_date(shipment.create_date, tz))
            if shipment.voided and shipment.void_date is not None:
                touched.add(local_date(shipment.void_date, tz))
    for day, (created, voided) in sorted(staged.labels_of_days(store, touched, tz).items()):
        yield day, created, voided


def _parsed(orders: dict[int, dict]) -> Iterator[tuple[int, tuple]]:
    for oid, raw in orders.items():
        for order, parsed_raw in reading.parse_orders([raw]):
            yield oid, (order, parsed_raw)


ASSETS = [shipstation_labels_to_zoho, zoho_shipping_journals, zoho_invoice_tracking]
