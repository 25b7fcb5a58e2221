"""Acumatica ↔ ShipStation snapshots for reconciliation, read live from both systems (never from our ledger).

Daily partitions in the books' time zone (pipelines/reconciliation/snapshot_assets.py), a week per scan,
a day replaced at a time. Keys `recon/acumatica_shipstation/<side>`.
"""

from datetime import UTC, date, datetime

import dagster as dg

from connectors.acumatica.odata import between
from connectors.shipstation import settings as ss_settings
from connectors.shipstation.timezones import format_pacific_filter
from pipelines.acumatica_shipstation.posting import PostedShipment
from pipelines.acumatica_shipstation.recon import snapshots as snap
from pipelines.acumatica_shipstation.recon.tables import SNAPSHOTS
from pipelines.acumatica_shipstation.tracking import V2Scans
from pipelines.reconciliation.snapshot_assets import partition_days, result, snapshot_kwargs, weeks
from pipelines.reconciliation.snapshots import RangeSnapshot, business_day, frame, range_window
from pipelines.reconciliation.store import ReconStore
from resources import AcumaticaResource, ShipStationResource, ShipStationV2Resource, StateResource

ACUMATICA = dg.AssetKey(["recon", "acumatica_shipstation", "acumatica"])
SHIPSTATION = dg.AssetKey(["recon", "acumatica_shipstation", "shipstation"])


def build_snapshot_assets(start: date, timezone: str) -> list[dg.AssetsDefinition]:
    """The pack's two snapshot assets on daily partitions from `start` in the books' `timezone`."""
    common = snapshot_kwargs(start, timezone)

    @dg.asset(key=ACUMATICA, kinds={"acumatica", "duckdb"}, **common)
    def recon_acumatica(context: dg.AssetExecutionContext, acumatica: AcumaticaResource,
                        state: StateResource) -> dg.MaterializeResult:
        """Acumatica sales orders by order date and shipment packages by shipment date."""
        store, per_day, problems = ReconStore(state.staging(), SNAPSHOTS), [], []
        with acumatica.client() as acu:
            for week in weeks(partition_days(context)):
                orders, packages, now = RangeSnapshot(week), RangeSnapshot(week), datetime.now(UTC)
                first, last = range_window(week[0], week[-1], timezone)
                for page in acu.iter_pages("SalesOrder", filter=between("Date", first, last), expand=["Totals"]):
                    snap.add_orders(orders, page, timezone, now)
                for page in acu.iter_pages("Shipment", filter=between("ShipmentDate", first, last),
                                           expand=["Details", "Packages"]):
                    snap.add_shipments(packages, page, now)
                for day in week:
                    store.replace_partitions(day, {
                        "recon_as_orders": frame(orders.by_day[day].rows.values()),
                        "recon_as_packages": frame(packages.by_day[day].rows.values())})
                    per_day.append({"day": day, "orders": len(orders.by_day[day].rows),
                                    "packages": len(packages.by_day[day].rows)})
                problems += orders.problems
        return result(per_day, problems, ["orders", "packages"])

    @dg.asset(key=SHIPSTATION, kinds={"shipstation", "duckdb"}, **common)
    def recon_shipstation(context: dg.AssetExecutionContext, shipstation: ShipStationResource,
                          shipstation_v2: ShipStationV2Resource, state: StateResource) -> dg.MaterializeResult:
        """ShipStation orders by order date, labels by create date, and each live label's carrier scan (V2)."""
        store, per_day, problems = ReconStore(state.staging(), SNAPSHOTS), [], []
        with shipstation.client() as ss:
            for week in weeks(partition_days(context)):
                orders, labels, now = RangeSnapshot(week), RangeSnapshot(week), datetime.now(UTC)
                first, last = range_window(week[0], week[-1], timezone)
                query = {"orderDateStart": format_pacific_filter(first),
                         "orderDateEnd": format_pacific_filter(last, round_up=True)}
                for page in ss.iter_pages_raw(ss_settings.ORDERS_PATH, "orders", query):
                    snap.add_ss_orders(orders, page, timezone, now)
                read = [label for page in ss.iter_shipment_pages_raw(first, last, by="create", include_items=False)
                        for label in snap.add_labels(labels, page, timezone, now)]
                scans = _scans(shipstation_v2, [label for label in read if not label.voided], now, timezone)
                for day in week:
                    store.replace_partitions(day, {
                        "recon_as_ss_orders": frame(orders.by_day[day].rows.values()),
                        "recon_as_labels": frame(labels.by_day[day].rows.values()),
                        "recon_as_tracking": frame(r for r in scans if r["day"] == day)})
                    per_day.append({"day": day, "orders": len(orders.by_day[day].rows),
                                    "labels": len(labels.by_day[day].rows)})
                problems += orders.problems + labels.problems
        return result(per_day, problems, ["orders", "labels"])

    return [recon_acumatica, recon_shipstation]


def _scans(resource: ShipStationV2Resource, labels: list, now: datetime, timezone: str) -> list[dict]:
    """V2 tracking of each live label (none without a V2 key: every confirmed shipment then lacks a scan)."""
    if not resource.api_key:
        return []
    rows = []
    with resource.client() as v2:
        scans = V2Scans(v2)
        for label in labels:
            posted = PostedShipment(label.shipment_id, "", label.order_key, label.order_number,
                                    label.tracking_number, label.carrier_code, label.ship_date, None, False)
            has = scans(posted)
            rows.append(snap.tracking_row(label, business_day(label.create_date, timezone),
                                          None if has is None else "scanned" if has else "not scanned", has, now))
    return rows
