"""Master data alignment, automatic retry of held records, and the inventory push, against the sandbox."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import httpx

from connectors.shipstation.v2 import ShipStationV2Client
from ml_connector.runner import RunSummary, instance_for, run_job
from pipelines.definitions import build_definitions, build_resources
from pipelines.shipstation_tally import posting
from pipelines.shipstation_tally.inventory_assets import FLOW as INVENTORY_FLOW
from pipelines.shipstation_tally.queue_sensors import held_records_retry_sensor
from state.ledger import Candidate, SyncLedger, current_owner

ALIGNMENT = "tally/master_alignment"
INVENTORY = "shipstation/inventory_levels"


def run(env, job: str, run_config: dict | None = None, **extra_env) -> RunSummary:
    settings = env.settings() if not extra_env else type(env.settings()).from_env(env.vars | extra_env)
    return run_job(build_definitions(settings), job, instance_for(env.home), run_config)


def tally_masters(env, kind: str) -> dict[str, dict]:
    masters = httpx.get(f"{env.sandbox.tally.base_url}/__sandbox/masters", timeout=30).json()[kind]
    return {m["name"]: m for m in masters}


def v2_levels(env) -> dict[str, int]:
    body = httpx.get(f"{env.sandbox.shipstation_v2.base_url}/__sandbox/inventory", timeout=30).json()
    return {level["sku"]: level["on_hand"] for level in body["inventory"]}


def tally_closing_by_sku(env) -> dict[str, Decimal]:
    stock = {k: Decimal(v) for k, v in httpx.get(f"{env.sandbox.tally.base_url}/__sandbox/stock").json().items()}
    by_sku = {}
    for item in env.sandbox.merchant.tally["stock_items"]:
        for sku in [item["name"], *item["aliases"]]:
            by_sku[sku] = stock[item["name"]]
    return by_sku


def test_alignment_creates_missing_customer_ledgers_and_reports_missing_skus(env):
    summary = run(env, "shipstation_tally_master_alignment")
    assert summary.success, summary.error
    unknown = env.sandbox.merchant.unknown_sku
    assert [row["sku"] for row in summary.metric(ALIGNMENT, "missing_stock_items")] == [unknown]
    assert summary.metric(ALIGNMENT, "stock_items_created") == 0  # not opted in
    assert summary.checks["every_sku_has_stock_item"] is False and "every_sku_has_stock_item" in summary.warnings
    created = summary.metric(ALIGNMENT, "ledgers_created")
    assert created == summary.metric(ALIGNMENT, "customers_without_ledger") > 0
    ledgers = tally_masters(env, "LEDGER")
    for customer in env.sandbox.merchant.customers:
        assert " ".join(customer["name"].split()) in ledgers, customer["name"]
    assert summary.checks["every_customer_has_ledger"] is True
    again = run(env, "shipstation_tally_master_alignment")
    assert again.metric(ALIGNMENT, "ledgers_created") == 0


def test_opting_in_creates_the_stock_item_and_the_held_order_is_retried(env):
    first = env.run()
    special = env.sandbox.merchant.special["unknown_sku"]
    assert [f["order_number"] for f in first.metric("tally/order_vouchers", "failures")] == [special]
    resources = build_resources(env.settings())
    idle = held_records_retry_sensor(dg.build_sensor_context(resources=resources))
    assert isinstance(idle, dg.SkipReason)  # the master is still missing: nothing to retry
    aligned = run(env, "shipstation_tally_master_alignment", TALLY_CREATE_MISSING_STOCK_ITEMS="true",
                  TALLY_STOCK_ITEM_GROUP="Finished Goods")
    assert aligned.metric(ALIGNMENT, "stock_items_created") == 1
    item = tally_masters(env, "STOCKITEM")[env.sandbox.merchant.unknown_sku]
    assert item["parent"] == "Finished Goods" and item["base_unit"] == "Nos"
    result = held_records_retry_sensor(dg.build_sensor_context(resources=resources))
    [request] = result.run_requests
    order_id = next(o["orderId"] for o in env.sandbox.merchant.orders if o["orderNumber"] == special)
    assert request.run_config["ops"]["shipstation__orders"]["config"]["order_ids"] == [order_id]
    retried = env.run(request.run_config)
    assert retried.success and retried.metric("tally/order_vouchers", "created") == 1
    assert SyncLedger(env.home / "ledger.sqlite3").get(posting.FLOW, str(order_id), "tally").state == "posted"
    assert isinstance(held_records_retry_sensor(dg.build_sensor_context(resources=resources)), dg.SkipReason)


def test_inventory_push_sets_only_the_skus_that_differ(env):
    before, closing = v2_levels(env), tally_closing_by_sku(env)
    active = [p["sku"] for p in env.sandbox.merchant.products if p["active"] and p["sku"] in closing]
    differing = [sku for sku in active if before.get(sku) != int(closing[sku])]
    assert differing and len(differing) < len(active)
    summary = run(env, "tally_inventory_to_shipstation")
    assert summary.success, summary.error
    assert summary.metric(INVENTORY, "pushed") == len(differing)
    assert summary.metric(INVENTORY, "unchanged") == len(active) - len(differing)
    after = v2_levels(env)
    assert all(after[sku] == int(closing[sku]) for sku in active)
    assert summary.metric(INVENTORY, "skus_without_stock_item") == 1  # the SKU Tally has no item for
    again = run(env, "tally_inventory_to_shipstation")
    assert again.metric(INVENTORY, "pushed") == 0


def test_inventory_push_follows_shipments(env):
    assert run(env, "shipstation_shipments_to_tally").success  # the labels bought so far
    run(env, "tally_inventory_to_shipstation")
    order = next(o for o in env.sandbox.merchant.orders if o["orderStatus"] == "awaiting_shipment"
                 and o["orderNumber"] not in env.sandbox.merchant.special.values())
    env.sandbox.ship(order["orderId"])
    assert run(env, "shipstation_shipments_to_tally").success
    summary = run(env, "tally_inventory_to_shipstation")
    skus = {line["sku"] for line in order["items"] if not line.get("adjustment")}
    assert {row["sku"] for row in summary.metric(INVENTORY, "changes")} == skus
    closing = tally_closing_by_sku(env)
    assert all(v2_levels(env)[sku] == int(closing[sku]) for sku in skus)


def differing_skus(env) -> list[str]:
    before, closing = v2_levels(env), tally_closing_by_sku(env)
    active = [p["sku"] for p in env.sandbox.merchant.products if p["active"] and p["sku"] in closing]
    return [sku for sku in active if before.get(sku) != int(closing[sku])]


def test_an_unexpected_error_mid_push_leaves_no_claim_pending(env, monkeypatch):
    real, calls = ShipStationV2Client.adjust, []

    def adjust(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise RuntimeError("a bug between claim and outcome")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ShipStationV2Client, "adjust", adjust)
    assert len(differing_skus(env)) > 2
    summary = run(env, "tally_inventory_to_shipstation")
    assert not summary.success and "inventory_levels" in (summary.error or "")
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    assert ledger.counts(INVENTORY_FLOW).get("pending", 0) == 0
    assert ledger.get(INVENTORY_FLOW, calls[0], "shipstation_v2").state == "posted"
    failed = ledger.entries(INVENTORY_FLOW, "failed")
    assert calls[1] in {e.source_id for e in failed} and all("RuntimeError" in e.last_error for e in failed)
    monkeypatch.setattr(ShipStationV2Client, "adjust", real)
    assert run(env, "tally_inventory_to_shipstation").success  # the next run pushes what was left
    assert not differing_skus(env)


def test_a_sku_claimed_by_a_live_run_is_not_pushed(env):
    levels, sku = v2_levels(env), differing_skus(env)[0]
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    [claim] = ledger.claim(INVENTORY_FLOW, "shipstation_v2", [Candidate(sku, f"inventory:x:{sku}", "x")],
                           current_owner("another-run"))  # this process is alive: the claim is live
    assert claim.action == "create"
    summary = run(env, "tally_inventory_to_shipstation")
    assert summary.success, summary.error
    assert summary.metric(INVENTORY, "in_flight_elsewhere") == 1
    assert sku not in {row["sku"] for row in summary.metric(INVENTORY, "changes")}
    assert v2_levels(env)[sku] == levels.get(sku) and differing_skus(env) == [sku]
    assert ledger.get(INVENTORY_FLOW, sku, "shipstation_v2").owner == current_owner("another-run")


def test_a_claim_left_pending_by_a_dead_run_is_looked_up_before_pushing(env):
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    stale = differing_skus(env)[:2]
    dead = "ghost-host:999999:dead-run"
    ledger.claim(INVENTORY_FLOW, "shipstation_v2", [Candidate(s, f"inventory:x:{s}", "x") for s in stale], dead)
    ledger._conn.execute("UPDATE sync_entries SET claimed_at = claimed_at - 10000 WHERE flow = ?",
                         (INVENTORY_FLOW,))  # and its lease ran out long ago
    summary = run(env, "tally_inventory_to_shipstation")
    assert summary.success, summary.error
    assert summary.metric(INVENTORY, "resolved_after_crash") == 2 and not differing_skus(env)
    assert ledger.counts(INVENTORY_FLOW).get("pending", 0) == 0
