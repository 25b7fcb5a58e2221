"""ShipStation ↔ Zoho Books snapshots for reconciliation, read live from both systems (never from our ledger).

Daily partitions in the books' time zone (the engine's shared pieces), a week per ShipStation scan
(40 requests a minute), Zoho by date range in pages of 200 (100 requests a minute, a daily cap).
"""

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from connectors.common.errors import RecordError
from connectors.common.timezones import local_date, start_of_local_day
from connectors.shipstation import settings as ss_settings
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from connectors.shipstation.timezones import format_pacific_filter
from pipelines.reconciliation.snapshot_assets import partition_days, result, snapshot_kwargs, weeks
from pipelines.reconciliation.store import ReconStore
from pipelines.shipstation_zoho.mapping import label_cost
from pipelines.shipstation_zoho.recon.tables import SNAPSHOTS
from resources import ShipStationResource, StateResource, ZohoBooksResource

SS_ORDERS = dg.AssetKey(["recon", "sz_orders"])
SS_LABELS = dg.AssetKey(["recon", "sz_labels"])
ZB_INVOICES = dg.AssetKey(["recon", "zb_invoices"])
ZB_JOURNALS = dg.AssetKey(["recon", "zb_journals"])


def build_snapshot_assets(start: date, timezone: str) -> list[dg.AssetsDefinition]:
    """The pair's four snapshot assets on the reconciliation's daily partitions."""
    common = snapshot_kwargs(start, timezone)

    @dg.asset(key=SS_ORDERS, kinds={"shipstation", "duckdb"}, **common)
    def recon_sz_orders(context: dg.AssetExecutionContext, shipstation: ShipStationResource,
                        state: StateResource) -> dg.MaterializeResult:
        """ShipStation orders by order date (local day)."""
        store, per_day, problems = ReconStore(state.staging(), SNAPSHOTS), [], []
        with shipstation.client() as client:
            for week in weeks(partition_days(context)):
                first, last = _window(week, timezone)
                query = {"orderDateStart": format_pacific_filter(first), "orderDateEnd": format_pacific_filter(last)}
                rows = [r for page in client.iter_pages_raw(ss_settings.ORDERS_PATH, "orders", query)
                        for r in _orders(page, timezone, problems)]
                per_day += _store(store, "recon_sz_orders", week, rows)
        return result(per_day, problems, ["rows"])

    @dg.asset(key=SS_LABELS, kinds={"shipstation", "duckdb"}, **common)
    def recon_sz_labels(context: dg.AssetExecutionContext, shipstation: ShipStationResource,
                        state: StateResource) -> dg.MaterializeResult:
        """ShipStation labels by create date (local day), voided ones included."""
        store, per_day, problems = ReconStore(state.staging(), SNAPSHOTS), [], []
        with shipstation.client() as client:
            for week in weeks(partition_days(context)):
                first, last = _window(week, timezone)
                rows = [r for page in client.iter_shipment_pages_raw(first, last, by="create", include_items=False)
                        for r in _labels(page, timezone, problems)]
                per_day += _store(store, "recon_sz_labels", week, rows)
        return result(per_day, problems, ["rows"])

    @dg.asset(key=ZB_INVOICES, kinds={"zoho_books", "duckdb"}, **common)
    def recon_zb_invoices(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource,
                          state: StateResource) -> dg.MaterializeResult:
        """Zoho Books invoices dated in the day(s), void ones included."""
        return _zoho_snapshot(context, zoho_books, state, "recon_zb_invoices", "iter_invoices", _invoices)

    @dg.asset(key=ZB_JOURNALS, kinds={"zoho_books", "duckdb"}, **common)
    def recon_zb_journals(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource,
                          state: StateResource) -> dg.MaterializeResult:
        """Zoho Books journals dated in the day(s)."""
        return _zoho_snapshot(context, zoho_books, state, "recon_zb_journals", "iter_journals", _journals)

    return [recon_sz_orders, recon_sz_labels, recon_zb_invoices, recon_zb_journals]


def _zoho_snapshot(context: dg.AssetExecutionContext, zoho_books: ZohoBooksResource, state: StateResource,
                   table: str, listing: str, rows: Callable[[Iterable[list[dict]]], list[dict[str, Any]]],
                   ) -> dg.MaterializeResult:
    """One Zoho list read a week at a time by date (`date_start`/`date_end`), each day's rows replaced."""
    store, per_day = ReconStore(state.staging(), SNAPSHOTS), []
    with zoho_books.client() as client:
        for week in weeks(partition_days(context)):
            pages = getattr(client, listing)(date_start=week[0].isoformat(), date_end=week[-1].isoformat())
            per_day += _store(store, table, week, rows(pages))
    return result(per_day, [], ["rows"])


def _window(week: list[date], timezone: str) -> tuple[datetime, datetime]:
    return start_of_local_day(week[0], timezone), start_of_local_day(week[-1] + timedelta(days=1), timezone)


def _store(store: ReconStore, table: str, week: list[date], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace each day of the week with its rows (a day without any is emptied too)."""
    import pandas as pd  # lazily: the order sync's process never loads pandas

    out = []
    for day in week:
        mine = [r for r in rows if r["day"] == day]
        store.replace_partitions(day, {table: pd.DataFrame(mine, columns=_columns(table))})
        out.append({"day": day, "rows": len(mine)})
    return out


def _columns(table: str) -> list[str]:
    return [part.split()[0] for part in re.split(r",(?![^()]*\))", " ".join(SNAPSHOTS[table].split()))]


def _orders(page: Iterable[dict], timezone: str, problems: list) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for raw in page:
        try:
            o = Order.from_raw(raw)
        except RecordError as exc:
            problems.append({"record": f"order {raw.get('orderId')}", "error": str(exc)})
            continue
        bill = o.bill_to
        yield {"day": local_date(o.order_date or o.create_date, timezone), "order_id": o.order_id,
               "order_number": o.order_number, "order_status": o.order_status,
               "customer": (bill.name or bill.company) if bill else None,
               "customer_email": (o.customer_email or "").lower() or None, "order_total": o.order_total,
               "fetched_at": now}


def _labels(page: Iterable[dict], timezone: str, problems: list) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for raw in page:
        try:
            s = Shipment.from_raw(raw)
        except RecordError as exc:
            problems.append({"record": f"label {raw.get('shipmentId')}", "error": str(exc)})
            continue
        yield {"day": local_date(s.create_date, timezone), "shipment_id": s.shipment_id, "order_id": s.order_id,
               "order_number": s.order_number, "voided": s.voided, "void_date": s.void_date, "cost": label_cost(s),
               "tracking_number": s.tracking_number, "fetched_at": now}


def _invoices(pages: Iterable[list[dict]]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [{"day": date.fromisoformat(str(i["date"])[:10]), "invoice_id": str(i["invoice_id"]),
             "invoice_number": i.get("invoice_number"), "reference": i.get("reference_number"),
             "customer_name": i.get("customer_name"), "status": i.get("status"), "total": i.get("total"),
             "fetched_at": now} for page in pages for i in page]


def _journals(pages: Iterable[list[dict]]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [{"day": date.fromisoformat(str(j["journal_date"])[:10]), "journal_id": str(j["journal_id"]),
             "reference": j.get("reference_number"), "total": j.get("total"), "fetched_at": now}
            for page in pages for j in page]
