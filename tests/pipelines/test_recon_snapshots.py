"""Reconciliation snapshots against the sandbox: every day matches each system's truth, a rerun replaces its
day, and a voucher deleted by hand in Tally leaves the snapshot while our ledger still says posted."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import dagster as dg
import httpx

from connectors.common.timezones import local_date
from connectors.shipstation.timezones import parse_pacific
from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions, build_resources
from pipelines.reconciliation.snapshot_assets import GROUP
from pipelines.reconciliation.store import ReconStore
from pipelines.shipstation_tally.jobs import SHIPMENTS_JOB
from pipelines.shipstation_tally.posting import FLOW
from pipelines.shipstation_tally.recon.assets import build_snapshot_assets
from pipelines.shipstation_tally.recon.tables import SNAPSHOTS
from pipelines.sides.tally.markers import MARKER_RE
from state.ledger import SyncLedger

JOB = "recon_snapshots"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def snapshot(env, first: date, last: date | None = None, settings: Settings | None = None) -> dg.ExecuteInProcessResult:
    """Materialise the four snapshot assets for the day `first`, or `first`..`last` in one run (they take a range)."""
    settings = settings or env.settings()
    tz = settings.tally_timezone
    assets = build_snapshot_assets(local_date(settings.shipstation_sync_start, tz), tz)
    job = dg.define_asset_job(JOB, selection=dg.AssetSelection.groups(GROUP))
    defs = dg.Definitions(assets=assets, jobs=[job], resources=build_resources(settings))
    job_def, instance = defs.resolve_job_def(JOB), instance_for(env.home)
    if last is None:
        result = job_def.execute_in_process(instance=instance, partition_key=first.isoformat(), raise_on_error=False)
    else:
        tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
        result = job_def.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): {k: getattr(v, "value", v) for k, v in
                                           e.step_materialization_data.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def store(env) -> ReconStore:
    return ReconStore.at(env.home / "staging.duckdb", SNAPSHOTS)


def truth(env) -> dict[str, Counter[date]]:
    tz = env.settings().tally_timezone
    vouchers = env.sandbox.vouchers()
    return {
        "recon_ss_orders": Counter(local_date(o.get("orderDate") or o["createDate"], tz)
                                   for o in env.sandbox.merchant.orders),
        "recon_ss_shipments": Counter(local_date(parse_pacific(s["createDate"]), tz) for s in env.sandbox.shipments()),
        "recon_tally_vouchers": Counter(date.fromisoformat(v["date"]) for v in vouchers
                                        if v["type"] in ("Sales Order", "Delivery Note")),
    }


def test_snapshots_match_both_systems_replace_their_day_and_see_a_voucher_deleted_by_hand(env):
    assert env.run().success
    shipped = run_job(build_definitions(env.settings()), SHIPMENTS_JOB, instance_for(env.home))
    assert shipped.success, shipped.error
    expected = truth(env)
    assert expected["recon_ss_shipments"] and any(s["voided"] for s in env.sandbox.shipments())
    days = sorted(set().union(*expected.values()))
    result = snapshot(env, days[0], days[-1])
    recon = store(env)
    for table, per_day in expected.items():
        assert recon.counts_by_day(table) == dict(per_day), table
    orders = recon.read_range("recon_ss_orders", days[0], days[-1])
    assert orders["order_id"].is_unique
    assert set(orders["order_id"]) == {o["orderId"] for o in env.sandbox.merchant.orders}
    fy = env.sandbox.merchant.order(env.sandbox.merchant.special["fy_boundary"])
    assert orders.set_index("order_id").loc[fy["orderId"], "day"] == date(2026, 4, 1)  # 20:30 Pacific on 31 March
    assert_lines_and_stock(env, recon, days)
    assert metadata(result)["recon/shipstation_orders"]["orders"] == sum(expected["recon_ss_orders"].values())

    busiest = max(expected["recon_tally_vouchers"], key=lambda d: expected["recon_tally_vouchers"][d])
    before = {table: recon.counts_by_day(table) for table in (*expected, "recon_ss_order_lines", "recon_tally_stock")}
    snapshot(env, busiest)
    assert {table: recon.counts_by_day(table) for table in before} == before  # replaced, not appended

    victim = next(v for v in env.sandbox.vouchers() if v["type"] == "Sales Order" and not v["cancelled"]
                  and date.fromisoformat(v["date"]) == busiest and "[ext:ss-order-" in (v["narration"] or ""))
    assert victim["master_id"] in set(recon.read_partition("recon_tally_vouchers", busiest)["master_id"])
    deleted = httpx.post(f"{env.sandbox.tally.base_url}/__sandbox/vouchers/{victim['master_id']}/delete", timeout=30)
    deleted.raise_for_status()
    snapshot(env, busiest)
    vouchers = recon.read_partition("recon_tally_vouchers", busiest)
    assert victim["master_id"] not in set(vouchers["master_id"])
    assert len(vouchers) == expected["recon_tally_vouchers"][busiest] - 1
    assert victim["master_id"] not in set(recon.read_partition("recon_tally_voucher_lines", busiest)["master_id"])
    order_id = MARKER_RE.search(victim["narration"]).group(1).removeprefix("ss-order-")
    entry = SyncLedger(env.home / "ledger.sqlite3").get(FLOW, order_id, "tally")
    assert entry is not None and entry.state == "posted" and entry.target_id == str(victim["master_id"])


def assert_lines_and_stock(env, recon: ReconStore, days: list[date]) -> None:
    first, last = days[0], days[-1]
    lines = recon.read_range("recon_ss_order_lines", first, last)
    assert len(lines) == sum(len(o["items"]) for o in env.sandbox.merchant.orders)
    vouchers = recon.read_range("recon_tally_vouchers", first, last)
    ours = vouchers[vouchers["ext_key"].notna()]
    assert set(ours["ext_key"]) >= {f"ss-order-{o['orderId']}" for o in env.sandbox.merchant.orders
                                    if o["orderStatus"] != "cancelled"
                                    and o["orderNumber"] != env.sandbox.merchant.special["unknown_sku"]}
    notes = recon.read_range("recon_tally_voucher_lines", first, last).merge(
        vouchers[vouchers["voucher_type"] == "Delivery Note"][["master_id"]], on="master_id")
    assert len(notes) and notes["order_no"].notna().all() and notes["tracking_number"].str.startswith("SS-").all()
    shipment_lines = recon.read_range("recon_ss_shipment_lines", first, last)
    assert len(shipment_lines) == sum(1 for s in env.sandbox.shipments() for i in s["shipmentItems"]
                                      if not i.get("adjustment"))
    stock = recon.read_partition("recon_tally_stock", last)  # nothing is dated after the last day: Tally now
    now = httpx.get(f"{env.sandbox.tally.base_url}/__sandbox/stock", timeout=30).json()
    assert {r.stock_item: r.closing_qty for r in stock.itertuples()} == {k: Decimal(v) for k, v in now.items()}
    # ShipStation keeps no inventory history: today's on-hand does not stand for a day months ago.
    assert recon.counts_by_day("recon_ss_inventory", first, last) == {}
    sku_items = recon.read_partition("recon_sku_items", last)
    assert sku_items["sku"].is_unique
    names = {sku: item["name"] for item in env.sandbox.merchant.tally["stock_items"]
             for sku in [item["name"], *item["aliases"]]}
    assert {r.sku: r.stock_item for r in sku_items.itertuples()} == {
        p["sku"]: names[p["sku"]] for p in env.sandbox.merchant.products if p["sku"] in names}


def test_without_a_v2_key_the_stock_snapshot_skips_shipstation_inventory_and_says_so(env):
    settings = Settings.from_env({k: v for k, v in env.vars.items() if k != "SHIPSTATION_V2_API_KEY"})
    day = date(2026, 4, 1)  # the financial-year boundary order's day
    result = snapshot(env, day, settings=settings)
    stock = metadata(result)["recon/stock"]
    assert "SHIPSTATION_V2_API_KEY is not set" in stock["note"] and stock["ss_inventory_skus"] == 0
    recon = store(env)
    assert recon.counts_by_day("recon_ss_inventory") == {}
    assert recon.counts_by_day("recon_tally_stock") == {day: len(env.sandbox.merchant.tally["stock_items"])}
    assert recon.counts_by_day("recon_sku_items")[day] == stock["skus_mapped"] > 0
    on_day = sum(local_date(o["orderDate"], settings.tally_timezone) == day for o in env.sandbox.merchant.orders)
    assert on_day and recon.counts_by_day("recon_ss_orders") == {day: on_day}
