"""ShipStation ↔ TallyPrime snapshots for reconciliation, read live (Tally from Tally itself, not our ledger).

Built on the engine's shared pieces (pipelines/reconciliation/snapshot_assets.py): daily partitions in
the books' time zone, ranges in one run, a day replaced at a time. The Tally assets belong to the pool
`tally`. The asset keys are those from before rule packs (`recon/shipstation_orders`, ...), so the
partitions already materialised in the UI stay where they were.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from connectors.shipstation import settings as ss_settings
from pipelines.reconciliation.snapshot_assets import partition_days, result, snapshot_kwargs, weeks
from pipelines.reconciliation.store import ReconStore
from pipelines.shipstation_tally.inventory_assets import first_location
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.recon import snapshots as snap
from pipelines.shipstation_tally.recon.tables import SNAPSHOTS
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import ShipStationResource, ShipStationV2Resource, StateResource, TallyResource

SS_ORDERS = dg.AssetKey(["recon", "shipstation_orders"])
SS_SHIPMENTS = dg.AssetKey(["recon", "shipstation_shipments"])
TALLY_VOUCHERS = dg.AssetKey(["recon", "tally_vouchers"])
STOCK = dg.AssetKey(["recon", "stock"])
SNAPSHOT_KEYS = (SS_ORDERS, SS_SHIPMENTS, TALLY_VOUCHERS, STOCK)


def build_snapshot_assets(start: date, timezone: str) -> list[dg.AssetsDefinition]:
    """The four snapshot assets on `daily_partitions(start, timezone)`; `timezone` must be TALLY_TIMEZONE."""
    common = snapshot_kwargs(start, timezone)

    @dg.asset(key=SS_ORDERS, kinds={"shipstation", "duckdb"}, **common)
    def recon_shipstation_orders(context: dg.AssetExecutionContext, shipstation: ShipStationResource,
                                 state: StateResource, flow: ShipStationTallySettings) -> dg.MaterializeResult:
        """ShipStation orders by order date (local day), with their lines."""
        store, per_day, problems = ReconStore(state.staging(), SNAPSHOTS), [], []
        with shipstation.client() as client:
            for week in weeks(days(context, flow, timezone)):  # one scan a week, not a request a day (40/min)
                scan, now = snap.RangeSnapshot(week), datetime.now(UTC)
                query = snap.order_query(week[0], timezone, week[-1])
                for page in client.iter_pages_raw(ss_settings.ORDERS_PATH, "orders", query):
                    snap.add_orders(scan, page, timezone, now)
                for day, snapshot in scan.by_day.items():
                    store.replace_partitions(day, snapshot.frames("recon_ss_orders", "recon_ss_order_lines"))
                    per_day.append({"day": day, "orders": len(snapshot.rows), "lines": snapshot.line_count})
                problems += scan.problems
        return result(per_day, problems, ["orders", "lines"])

    @dg.asset(key=SS_SHIPMENTS, kinds={"shipstation", "duckdb"}, **common)
    def recon_shipstation_shipments(context: dg.AssetExecutionContext, shipstation: ShipStationResource,
                                    state: StateResource, flow: ShipStationTallySettings) -> dg.MaterializeResult:
        """ShipStation labels by create date (local day), voided ones included, with their items."""
        store, per_day, problems = ReconStore(state.staging(), SNAPSHOTS), [], []
        with shipstation.client() as client:
            for week in weeks(days(context, flow, timezone)):
                scan, now = snap.RangeSnapshot(week), datetime.now(UTC)
                start, end = snap.range_window(week[0], week[-1], timezone)
                for page in client.iter_shipment_pages_raw(start, end, by="create", include_items=True):
                    snap.add_shipments(scan, page, timezone, now)
                for day, snapshot in scan.by_day.items():
                    store.replace_partitions(day, snapshot.frames("recon_ss_shipments", "recon_ss_shipment_lines"))
                    voided = sum(1 for row in snapshot.rows.values() if row.get("voided"))
                    per_day.append({"day": day, "shipments": len(snapshot.rows), "voided": voided,
                                    "lines": snapshot.line_count})
                problems += scan.problems
        return result(per_day, problems, ["shipments", "voided", "lines"])

    @dg.asset(key=TALLY_VOUCHERS, kinds={"tally", "duckdb"}, pool="tally", **common)
    def recon_tally_vouchers(context: dg.AssetExecutionContext, tally: TallyResource, state: StateResource,
                             flow: ShipStationTallySettings) -> dg.MaterializeResult:
        """Tally's order vouchers and Delivery Notes dated that day, as Tally holds them now."""
        store, per_day = ReconStore(state.staging(), SNAPSHOTS), []
        with tally.client() as client:
            for day in days(context, flow, timezone):
                snapshot, now = snap.Snapshot(day), datetime.now(UTC)
                for voucher_type in dict.fromkeys([flow.voucher_type, flow.delivery_note_type]):
                    snap.add_vouchers(snapshot, client.list_vouchers(voucher_type, day, day), now)
                store.replace_partitions(day, snapshot.frames("recon_tally_vouchers", "recon_tally_voucher_lines"))
                per_day.append(voucher_counts(snapshot, flow))
        return result(per_day, [], ["order_vouchers", "delivery_notes", "cancelled", "without_marker", "lines"])

    @dg.asset(key=STOCK, kinds={"tally", "shipstation", "duckdb"}, pool="tally", **common)
    def recon_stock(context: dg.AssetExecutionContext, tally: TallyResource, shipstation: ShipStationResource,
                    shipstation_v2: ShipStationV2Resource, state: StateResource,
                    flow: ShipStationTallySettings) -> dg.MaterializeResult:
        """Tally closing stock as of the day, ShipStation on-hand now, and each SKU's stock item."""
        store, per_day = ReconStore(state.staging(), SNAPSHOTS), []
        levels, note = inventory_levels(shipstation_v2)
        levels_at = datetime.now(UTC)
        with shipstation.client() as ss:
            products = [p.get("sku") for page in ss.iter_pages_raw(ss_settings.PRODUCTS_PATH, "products",
                                                                   {"showInactive": True}) for p in page]
        skus = [*products, *(sku for sku, _ in levels or [])]
        with tally.client() as client:
            for day in days(context, flow, timezone):
                now = datetime.now(UTC)
                items = client.list_stock_items(day, day)
                resolver = SkuResolver.build([(i.name, i.aliases, i.base_unit) for i in items], flow.sku_map())
                sku_rows, unmapped = snap.sku_item_rows(skus, resolver, day)
                frames = {"recon_tally_stock": snap.frame(snap.stock_rows(items, day, now)),
                          "recon_sku_items": snap.frame(sku_rows)}
                if levels is not None and counted_as_of(day, levels_at, timezone):
                    frames["recon_ss_inventory"] = snap.frame(snap.inventory_rows(levels, day, levels_at))
                written = store.replace_partitions(day, frames)
                per_day.append({"day": day, "stock_items": written["recon_tally_stock"],
                                "ss_inventory_skus": written.get("recon_ss_inventory", 0),
                                "skus_mapped": written["recon_sku_items"], "skus_unmapped": len(unmapped)})
                note = note or stale_note(day, levels_at, timezone, levels is not None)
        return result(per_day, [], ["stock_items", "ss_inventory_skus", "skus_mapped", "skus_unmapped"], note)

    return [recon_shipstation_orders, recon_shipstation_shipments, recon_tally_vouchers, recon_stock]


def days(context: dg.AssetExecutionContext, flow: ShipStationTallySettings, timezone: str) -> Iterator[date]:
    """The partition's day(s); refuses to run when the partitions and the books disagree on the time zone."""
    if flow.timezone != timezone:
        raise dg.Failure(f"reconciliation partitions are in {timezone} but TALLY_TIMEZONE is {flow.timezone}")
    return partition_days(context)


def inventory_levels(resource: ShipStationV2Resource) -> tuple[list[tuple[str, int]] | None, str | None]:
    """ShipStation V2 on-hand per SKU now, or None and why when V2 is not configured."""
    if not resource.api_key:
        return None, "SHIPSTATION_V2_API_KEY is not set: no ShipStation inventory snapshot."
    with resource.client() as client:
        location = resource.location_id or first_location(client)
        return [(level.sku, level.on_hand) for level in client.iter_inventory(location_id=location)], None


def counted_as_of(day: date, fetched_at: datetime, timezone: str) -> bool:
    """Whether on-hand read at `fetched_at` stands for `day`: read that day or the next (the nightly run)."""
    return timedelta(0) <= snap.business_day(fetched_at, timezone) - day <= timedelta(days=1)


def stale_note(day: date, fetched_at: datetime, timezone: str, read: bool) -> str | None:
    """ShipStation keeps no inventory history: a day whose end is long past gets no ShipStation count."""
    if read and not counted_as_of(day, fetched_at, timezone):
        return ("ShipStation keeps no inventory history: on-hand read now does not stand for a past day, so "
                "days that ended more than a day ago get no ShipStation count and no stock drift.")
    return None


def voucher_counts(snapshot: snap.Snapshot, flow: ShipStationTallySettings) -> dict[str, Any]:
    rows = list(snapshot.rows.values())
    return {"day": snapshot.day, "order_vouchers": sum(r["voucher_type"] == flow.voucher_type for r in rows),
            "delivery_notes": sum(r["voucher_type"] == flow.delivery_note_type for r in rows),
            "cancelled": sum(bool(r["cancelled"]) for r in rows),
            "without_marker": sum(r["ext_key"] is None for r in rows), "lines": snapshot.line_count}
