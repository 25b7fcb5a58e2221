"""The shipstation_to_tally job against the sandbox, end to end over real HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import dagster as dg
import httpx

from ml_connector.runner import instance_for
from pipelines.shipstation_tally.posting import FLOW, TARGET
from state.ledger import SyncLedger
from tests.pipelines.conftest import expected_orders


def party_amount(voucher: dict) -> Decimal:
    [party] = [line for line in voucher["ledger_entries"] if line.get("is_party")]
    return Decimal(str(party["amount"]))


def test_every_order_becomes_exactly_one_correct_voucher(env):
    summary = env.run()
    assert summary.success, summary.error
    expected = expected_orders(env.sandbox)
    per_order = env.vouchers_per_order()
    assert set(per_order) == set(expected)
    assert set(per_order.values()) == {1}
    vouchers = {key: v for v in env.order_vouchers() for key in [v["narration"].split("[ext:")[1][:-1]]}
    for key, order in expected.items():
        assert -party_amount(vouchers[key]) == Decimal(str(order["orderTotal"])), order["orderNumber"]
        assert vouchers[key]["reference"] == order["orderNumber"]
    assert summary.metric("tally/order_vouchers", "created") == len(expected)
    assert summary.checks["every_order_has_voucher_or_reason"] and summary.checks["vouchers_match_their_orders"]


def test_unknown_sku_fails_alone_and_names_the_sku(env):
    summary = env.run()
    special = env.sandbox.merchant.special
    failures = summary.metric("tally/order_vouchers", "failures")
    assert [f["order_number"] for f in failures] == [special["unknown_sku"]]
    assert "has no stock item" in failures[0]["error"] and "sku" in failures[0]["error"]
    assert summary.checks["no_unmapped_sku"] is False  # a warning the UI shows
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    [failed] = ledger.entries(FLOW, "failed")
    assert failed.source_payload and special["unknown_sku"] in failed.source_payload  # kept for replay


def test_financial_year_boundary_and_awkward_customers(env):
    env.run()
    special = env.sandbox.merchant.special
    by_number = {v["reference"]: v for v in env.order_vouchers()}
    assert by_number[special["fy_boundary"]]["date"] in ("2026-04-01", date(2026, 4, 1).isoformat())
    parties = {v["party"] for v in env.order_vouchers()}
    assert "Ram & Shyam Traders" in parties
    assert any("राम" in p for p in parties)


def test_second_run_creates_nothing_new(env):
    env.run()
    before = len(env.order_vouchers())
    summary = env.run()
    assert summary.success
    assert summary.metric("tally/order_vouchers", "created") == 0
    assert summary.metric("tally/order_vouchers", "skipped") >= len(expected_orders(env.sandbox))
    assert len(env.order_vouchers()) == before


def test_edits_alter_and_cancellations_cancel_the_same_voucher(env):
    env.run()
    alter_ids = {v["master_id"]: v["alter_id"] for v in env.order_vouchers()}
    changed = env.sandbox.advance()
    assert changed["edited"] and changed["cancelled"]
    summary = env.run()
    assert summary.success, summary.error
    assert summary.metric("tally/order_vouchers", "altered") == changed["edited"]
    assert summary.metric("tally/order_vouchers", "cancelled") == changed["cancelled"]
    assert {v["master_id"] for v in env.order_vouchers()} == set(alter_ids)  # altered in place, none added
    vouchers = {v["reference"]: v for v in env.order_vouchers()}
    orders = {o["orderId"]: o for o in env.sandbox.merchant.orders}
    for change in changed["applied"]:
        voucher = vouchers[orders[change["orderId"]]["orderNumber"]]
        if change["kind"] == "cancel":
            assert voucher["cancelled"]
        else:
            assert -party_amount(voucher) == Decimal(str(change["orderTotal"]))
        assert voucher["alter_id"] > alter_ids[voucher["master_id"]]  # Tally recorded an alteration
    untouched = {orders[c["orderId"]]["orderNumber"] for c in changed["applied"]} ^ set(vouchers)
    assert all(vouchers[n]["alter_id"] == alter_ids[vouchers[n]["master_id"]] for n in untouched)


def test_every_write_is_in_the_audit_trail(env):
    summary = env.run()
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    records = ledger.audit.records(summary.run_id, limit=10_000)
    imports = [r for r in records if r.kind == "import_vouchers"]
    assert imports and all(r.response for r in imports)
    posted = {e.source_id for e in ledger.entries(FLOW, "posted")}
    audited = {sid for r in imports for sid in (r.source_ids or "").split(",") if sid}
    assert posted <= audited
    assert ledger.counts(FLOW).get("pending", 0) == 0
    assert all(r.system == TARGET and b"<ENVELOPE>" in r.request.decode("utf-16-le").encode() for r in imports)


def test_a_merchant_who_books_orders_as_purchase_orders(env):
    env.vars["TALLY_ORDER_VOUCHER_TYPE"] = "Purchase Order"
    summary = env.run()
    assert summary.success, summary.error
    vouchers = [v for v in env.sandbox.vouchers() if v["type"] == "Purchase Order"]
    assert len(vouchers) == len(expected_orders(env.sandbox))
    assert not [v for v in env.sandbox.vouchers() if v["type"] == "Sales Order"]
    assert summary.checks["vouchers_match_their_orders"]  # read back with the inward sign
    orders = {o["orderNumber"]: o for o in env.sandbox.merchant.orders}
    for voucher in vouchers:  # inward: the party is credited with the order total
        assert party_amount(voucher) == Decimal(str(orders[voucher["reference"]]["orderTotal"]))


def check_rows(env, run_id: str, check_name: str) -> list[dict]:
    """The rows of a check's `mismatches` table in one run."""
    for record in instance_for(env.home).all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name == check_name:
            table = evaluation.metadata["mismatches"].value
            return [dict(row.data) for row in table.records]
    raise AssertionError(f"no evaluation of {check_name}")


def test_a_voucher_altered_by_hand_in_tally_fails_the_voucher_check(env):
    assert env.run().success
    voucher = next(v for v in env.order_vouchers() if v["inventory_entries"][0]["rate"])
    line = voucher["inventory_entries"][0]
    party = next(ln for ln in voucher["ledger_entries"] if ln["is_party"])
    rate = Decimal(line["rate"])
    edit = {"item_quantities": {line["item"]: str(Decimal(line["actual_qty"]) + 1)},
            "ledger_amounts": {party["ledger"]: str(Decimal(party["amount"]) - rate)}}  # an accountant adds one
    answer = httpx.post(f"{env.sandbox.tally.base_url}/__sandbox/vouchers/{voucher['master_id']}/edit",
                        json=edit, timeout=30)
    assert answer.status_code == 200, answer.text
    summary = env.run()
    assert summary.success and summary.metric("tally/order_vouchers", "altered") == 0  # we did not touch it
    assert summary.checks["vouchers_match_their_orders"] is False
    [row] = check_rows(env, summary.run_id, "vouchers_match_their_orders")
    expected = -Decimal(party["amount"])
    assert row["order_number"] == voucher["reference"] and row["master_id"] == str(voucher["master_id"])
    assert Decimal(row["expected"]) == expected and Decimal(row["found"]) == expected + rate
    assert "differs from the order total" in row["problem"]
