"""Shipments -> Delivery Notes against the sandbox, end to end: stock moves exactly, voids give it back."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import httpx

from ml_connector.runner import RunSummary, instance_for, run_job
from pipelines.definitions import build_definitions
from pipelines.shipstation_tally import shipments
from pipelines.shipstation_tally.shipments import OVER_SHIPMENT
from pipelines.sides.tally.markers import MARKER_RE
from state.ledger import SyncLedger

SHIPMENTS_JOB = "shipstation_shipments_to_tally"
NOTES = "tally/delivery_notes"


def run_shipments(env, run_config: dict | None = None) -> RunSummary:
    return run_job(build_definitions(env.settings()), SHIPMENTS_JOB, instance_for(env.home), run_config)


def stock(env) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in httpx.get(f"{env.sandbox.tally.base_url}/__sandbox/stock", timeout=30)
            .json().items()}


def item_names(env) -> dict[str, str]:
    """SKU -> Tally stock item name (most items are named by SKU, ~5% only carry it as an alias)."""
    names = {}
    for item in env.sandbox.merchant.tally["stock_items"]:
        for sku in [item["name"], *item["aliases"]]:
            names[sku] = item["name"]
    return names


def notes(env) -> list[dict]:
    return [v for v in env.sandbox.vouchers() if v["type"] == "Delivery Note"]


def active_notes_per_shipment(env) -> Counter[str]:
    return Counter(key for v in notes(env) if not v["cancelled"] for key in MARKER_RE.findall(v["narration"] or ""))


def expected_moves(env, shipments_list: list[dict]) -> Counter[str]:
    names, moved = item_names(env), Counter()
    for shipment in shipments_list:
        for line in shipment.get("shipmentItems") or []:
            if not line.get("adjustment") and line["quantity"]:
                moved[names[line["sku"]]] += line["quantity"]
    return moved


def postable(env) -> list[dict]:
    """Labels that must become an active Delivery Note: not voided, not the flagged over-shipment."""
    special = env.sandbox.merchant.special
    over = {s["shipmentId"] for s in env.sandbox.merchant.shipments_of(special["over_shipment"])[1:]}
    unknown = special["unknown_sku"]
    return [s for s in env.sandbox.merchant.shipments
            if not s["voided"] and s["shipmentId"] not in over and s["orderNumber"] != unknown]


def test_shipments_become_linked_delivery_notes_and_stock_falls_by_exactly_what_shipped(env):
    before = stock(env)
    assert env.run().success
    summary = run_shipments(env)
    assert summary.success, summary.error
    expected = postable(env)
    assert set(active_notes_per_shipment(env)) == {f"ss-shipment-{s['shipmentId']}" for s in expected}
    assert set(active_notes_per_shipment(env).values()) == {1}
    after, moved = stock(env), expected_moves(env, expected)
    assert {name: before[name] - after[name] for name in before if before[name] != after[name]} == dict(moved)
    assert summary.checks["stock_fell_by_exactly_what_shipped"] is True
    assert summary.checks["every_shipment_has_note_or_reason"] is True
    by_number = {v["number"]: v for v in notes(env)}
    some = expected[0]
    note = by_number[f"SS-{some['shipmentId']}"]
    assert note["party"] and note["reference"] == some["trackingNumber"]
    batches = [b for e in note["inventory_entries"] for b in e["batches"]]
    assert batches and all(b["order_no"] == some["orderNumber"] and b["tracking_number"] == f"SS-{some['shipmentId']}"
                           for b in batches)
    assert note["fields"].get("INVOICEORDERLIST") or "INVOICEORDERLIST" in str(note["extra"])


def test_split_shipments_give_one_note_each(env):
    env.run()
    run_shipments(env)
    split = env.sandbox.merchant.shipments_of(env.sandbox.merchant.special["split_shipment"])
    assert len([s for s in split if not s["voided"]]) >= 2
    keys = active_notes_per_shipment(env)
    assert all(keys[f"ss-shipment-{s['shipmentId']}"] == 1 for s in split if not s["voided"])


def test_over_shipment_is_flagged_not_posted(env):
    env.run()
    summary = run_shipments(env)
    number = env.sandbox.merchant.special["over_shipment"]
    first, *extra = env.sandbox.merchant.shipments_of(number)
    keys = active_notes_per_shipment(env)
    assert keys[f"ss-shipment-{first['shipmentId']}"] == 1
    assert all(f"ss-shipment-{s['shipmentId']}" not in keys for s in extra)
    assert summary.checks["no_over_shipment"] is False and "no_over_shipment" in summary.warnings
    failures = summary.metric(NOTES, "failures")
    assert any(OVER_SHIPMENT in f["error"] and number in f["error"] for f in failures)
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    [entry] = [e for e in ledger.entries(shipments.FLOW, "failed") if e.source_id == str(extra[0]["shipmentId"])]
    assert OVER_SHIPMENT in entry.last_error and entry.source_payload  # kept for replay


def test_a_voided_label_cancels_its_note_and_gives_the_stock_back(env):
    env.run()
    run_shipments(env)
    target = postable(env)[0]
    before = stock(env)
    env.sandbox.void(target["shipmentId"])
    summary = run_shipments(env)
    assert summary.success and summary.metric(NOTES, "cancelled") == 1
    [note] = [v for v in notes(env) if v["number"] == f"SS-{target['shipmentId']}"]
    assert note["cancelled"]
    after, moved = stock(env), expected_moves(env, [target])
    assert {name: after[name] - before[name] for name in after if after[name] != before[name]} == dict(moved)
    assert summary.checks["stock_fell_by_exactly_what_shipped"] is True  # a void moves stock back, as recorded


def test_a_shipment_whose_order_has_no_voucher_syncs_the_order_first(env):
    summary = run_shipments(env)  # the order job never ran
    assert summary.success, summary.error
    assert summary.metric(NOTES, "orders_synced_first") > 0
    assert summary.metric(NOTES, "order_vouchers_created_first") > 0
    order_keys = {k for v in env.sandbox.vouchers() if v["type"] == "Sales Order"
                  for k in MARKER_RE.findall(v["narration"])}
    for shipment in postable(env):
        assert f"ss-order-{shipment['orderId']}" in order_keys


def test_second_run_posts_nothing_new(env):
    env.run()
    run_shipments(env)
    count = len(notes(env))
    again = run_shipments(env)
    assert again.success and again.metric(NOTES, "created") == 0 and len(notes(env)) == count
