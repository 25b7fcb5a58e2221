"""The Walmart ↔ TallyPrime rule pack over snapshots its own assets took from both simulators after a sync."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg

from pipelines.reconciliation import engine
from pipelines.walmart_tally.recon import rule_pack
from pipelines.walmart_tally.recon.assets import build_snapshot_assets
from pipelines.walmart_tally.settlement import report_day
from state.ledger import SyncLedger
from state.staging import StagingStore
from tests.pipelines import test_walmart_tally_flow as flow_tests
from tests.pipelines.test_walmart_tally_flow import World

world = flow_tests.world
TZ = "Asia/Kolkata"


def test_after_a_full_sync_only_the_order_tally_cannot_take_is_an_exception(world: World) -> None:
    world.run("walmart_orders_to_tally")
    world.run("walmart_returns_to_tally")
    world.run("walmart_settlements_to_tally", {})
    day = report_day(world.specials.report_date)
    defs = world.definitions()
    resources = dict(defs.resources)
    assets = build_snapshot_assets(date(2026, 1, 1), TZ)
    result = dg.materialize(assets, resources=resources, partition_key=day.isoformat(), instance=world.instance)
    assert result.success
    store = StagingStore(world.home / "staging.duckdb")
    ledger = SyncLedger(world.home / "ledger.sqlite3")
    with store.connect() as conn:
        engine.load_ledger(conn, ledger.entries(), now=datetime.now(UTC), lease_seconds=900)
        totals = engine.reconcile_day(conn, rule_pack(), day, now=datetime.now(UTC), timezone=TZ)
        rows = conn.execute("SELECT category, source_id, explained FROM recon_exceptions WHERE pair = 'walmart_tally'"
                            " AND day = ?", [day]).fetchall()
    unknown = {po for po, o in world.state.orders.items()
               if any(line["item"]["sku"] == world.merchant.unknown_sku for line in o.lines)}
    assert rows and {(c, explained) for c, _, explained in rows} == {("order_without_sales", True)}
    assert {po for _, po, _ in rows} <= unknown
    assert totals.totals["payout"] == totals.totals["payout_posted"] == world.state.settlements[
        world.specials.report_date].total()
    assert totals.totals["orders"] >= 1
