"""Walmart -> TallyPrime flows against both simulators (sandbox/walmart, sandbox/tally), over real HTTP.

Orders become Sales vouchers, refunded returns Credit Notes, a settlement Receipts and a Journal whose
bank lines add up to the payout to the cent in both report layouts; everything run twice changes
nothing. The `walmart` resource is defined here until the application's resources carry one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import httpx
import pytest

from connectors.tally.client import TallyClient
from connectors.tally.models import Group
from pipelines.sides.tally.markers import MARKER_RE
from pipelines.walmart_tally.definitions import inbound_definitions
from pipelines.walmart_tally.flows import settlement_date
from pipelines.walmart_tally.settings import WalmartTallyFlowSettings, WalmartTallySettings
from pipelines.walmart_tally.settlement import report_day
from resources import StateResource, TallyResource, WalmartResource
from sandbox.merchant import Merchant, generate_merchant
from sandbox.merchant_walmart import CLIENT_ID, CLIENT_SECRET, WalmartSpecials, generate_walmart, sku_map_csv
from sandbox.runner import ServedApp, serve
from sandbox.tally import TallyState
from sandbox.tally import create_app as tally_app
from sandbox.walmart import WalmartState
from sandbox.walmart import create_app as walmart_app


@dataclass
class World:
    merchant: Merchant
    tally: ServedApp
    walmart: ServedApp
    state: WalmartState
    specials: WalmartSpecials
    home: Path
    instance: dg.DagsterInstance

    def definitions(self, **flow: object) -> dg.Definitions:
        settings = WalmartTallyFlowSettings(walmart_sync_start=self.merchant.start - timedelta(days=40), **flow)
        tally = type("TallyConf", (), {"tally_timezone": "Asia/Kolkata"})()
        pair = inbound_definitions(settings, tally)
        sku_map = self.home / "walmart_sku_map.csv"
        sku_map.write_text(sku_map_csv(self.merchant))
        resources = {"walmart_flow": WalmartTallySettings.from_settings(settings, "Asia/Kolkata", sku_map),
                     "tally": TallyResource(url=self.tally.base_url, company=self.company),
                     "state": StateResource(home=str(self.home)),
                     "walmart": WalmartResource(base_url=self.walmart.base_url, client_id=CLIENT_ID,
                                                client_secret=CLIENT_SECRET)}
        return dg.Definitions(assets=pair.assets, jobs=pair.jobs, resources=resources)

    @property
    def company(self) -> str:
        return self.merchant.tally["company"]

    def window(self, op: str) -> dict:
        """The sandbox's clock is the merchant's start, not today: read the 40 days before it."""
        start, end = self.merchant.start - timedelta(days=40), self.merchant.start + timedelta(hours=1)
        return {"ops": {op: {"config": {"modified_start": start.isoformat(), "modified_end": end.isoformat()}}}}

    def run(self, job: str, run_config: dict | None = None, **flow: object) -> dg.ExecuteInProcessResult:
        if run_config is None:
            run_config = self.window("walmart__orders" if "orders" in job else "walmart__returns")
        result = self.definitions(**flow).resolve_job_def(job).execute_in_process(
            run_config=run_config, instance=self.instance, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def vouchers(self, voucher_type: str | None = None) -> list[dict]:
        every = httpx.get(f"{self.tally.base_url}/__sandbox/vouchers", timeout=60).json()
        return [v for v in every if voucher_type is None or v["type"] == voucher_type]

    def sale(self, po: str) -> dict:
        (found,) = [v for v in self.vouchers("Sales") if f"[ext:wm-po-{po}]" in (v.get("narration") or "")]
        return found

    def line_sku(self, po: str, line_number: str) -> str:
        return next(line["item"]["sku"] for line in self.state.orders[po].lines if line["lineNumber"] == line_number)

    def sku_item(self, sku: str) -> str:
        """The stock item a SKU is posted as: its own name, or the item that has it as an alias."""
        return next(i["name"] for i in self.merchant.tally["stock_items"] if sku == i["name"] or sku in i["aliases"])

    def per_key(self, voucher_type: str) -> Counter[str]:
        return Counter(key for v in self.vouchers(voucher_type) if not v["cancelled"]
                       for key in MARKER_RE.findall(v.get("narration") or ""))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    merchant = generate_merchant(seed=11, n_orders=20)
    tally = serve(tally_app(TallyState.from_masters(merchant.tally | {"cost_centres": [{"name": "NJ Warehouse"}]})))
    state, specials = generate_walmart(merchant, 11)
    walmart = serve(walmart_app(state, credentials={CLIENT_ID: CLIENT_SECRET}, rate_limits=True))
    try:
        with dg.instance_for_test() as instance:
            yield World(merchant, tally, walmart, state, specials, tmp_path, instance)
    finally:
        tally.stop()
        walmart.stop()


def is_created(order) -> bool:
    return any(s["status"] == "Created" for line in order.lines for s in line["orderLineStatuses"]["orderLineStatus"])


def released_pos(world: World) -> dict[str, object]:
    return {po: o for po, o in world.state.orders.items() if o.released}


def test_orders_become_sales_vouchers_once_and_a_cancelled_line_is_not_invoiced(world: World) -> None:
    world.run("walmart_orders_to_tally")
    keys = world.per_key("Sales")
    unknown = {po for po, o in released_pos(world).items()
               if any(line["item"]["sku"] == world.merchant.unknown_sku for line in o.lines)}
    expected = {f"wm-po-{po}" for po in released_pos(world)} - {f"wm-po-{po}" for po in unknown}
    assert set(keys) == expected and set(keys.values()) == {1}
    cancelled = world.sale(world.specials.cancelled_line)
    assert [i["item"] for i in cancelled["inventory_entries"]] == [world.sku_item(world.line_sku(
        world.specials.cancelled_line, "1"))]  # line 2 was cancelled before posting: not invoiced
    world.run("walmart_orders_to_tally")
    assert world.per_key("Sales") == keys  # run twice: nothing duplicated


def test_a_line_cancelled_after_posting_alters_the_voucher(world: World) -> None:
    world.run("walmart_orders_to_tally")
    po = next(po for po, o in released_pos(world).items() if len(o.lines) >= 2
              and all(s["status"] in ("Created", "Acknowledged") for line in o.lines
                      for s in line["orderLineStatuses"]["orderLineStatus"]))
    before = world.sale(po)
    cancel = f"{world.walmart.base_url}/__sandbox/orders/{po}/cancel-line"
    httpx.post(cancel, json={"lineNumber": "2"}).raise_for_status()
    world.run("walmart_orders_to_tally")
    after = world.sale(po)
    assert after["master_id"] == before["master_id"] and world.per_key("Sales")[f"wm-po-{po}"] == 1
    assert len(after["inventory_entries"]) == len(before["inventory_entries"]) - 1


def test_marketplace_mode_posts_every_sale_to_the_marketplace_ledger(world: World) -> None:
    world.run("walmart_orders_to_tally", tally_walmart_party_mode="marketplace")
    assert {v["party"] for v in world.vouchers("Sales")} == {"Walmart Marketplace"}


def test_refunded_return_becomes_a_credit_note_against_the_sale(world: World) -> None:
    world.run("walmart_orders_to_tally")
    world.run("walmart_returns_to_tally")
    notes = world.vouchers("Credit Note")
    refunded = [r for r in world.state.returns.values()
                if all(line.get("currentRefundStatus") == "REFUND_COMPLETED" for line in r.doc["returnOrderLines"])]
    assert len(notes) == len(refunded) == 1
    world.run("walmart_returns_to_tally")
    assert len(world.vouchers("Credit Note")) == 1


@pytest.mark.parametrize("version", ["v1", "legacy"])
def test_settlement_posts_receipts_and_journal_equal_to_the_payout(world: World, version: str) -> None:
    world.run("walmart_orders_to_tally")
    config = {"ops": {op: {"config": {"report_date": world.specials.report_date, "version": version}}
                      for op in ("walmart__settlements", "tally__walmart_settlements")}}
    world.run("walmart_settlements_to_tally", config)
    payout = world.state.settlements[world.specials.report_date].total()
    posted = [v for v in world.vouchers() if "wm-settle-" in (v.get("narration") or "")]
    bank = -sum((Decimal(str(line["amount"])) for v in posted for line in v["ledger_entries"]
                 if line["ledger"] == "Walmart Payouts"), Decimal(0))
    assert bank == payout
    world.run("walmart_settlements_to_tally", config)
    assert len([v for v in world.vouchers() if "wm-settle-" in (v.get("narration") or "")]) == len(posted)


def test_a_settlement_that_comes_before_its_sales_is_held_then_posted_whole(world: World) -> None:
    result = world.run("walmart_settlements_to_tally", {})
    held = result.asset_materializations_for_node("tally__walmart_settlements")[0].metadata
    assert held["settlements_held"].value == 1 and held["settlements_posted"].value == 0
    assert not [v for v in world.vouchers() if "wm-settle-" in (v.get("narration") or "")]
    world.run("walmart_orders_to_tally")
    result = world.run("walmart_settlements_to_tally", {})
    posted = result.asset_materializations_for_node("tally__walmart_settlements")[0].metadata
    assert posted["settlements_posted"].value == 1 and posted["failed"].value == 0
    vouchers = [v for v in world.vouchers() if "wm-settle-" in (v.get("narration") or "")]
    bank = -sum((Decimal(str(line["amount"])) for v in vouchers for line in v["ledger_entries"]
                 if line["ledger"] == "Walmart Payouts"), Decimal(0))
    assert bank == world.state.settlements[world.specials.report_date].total()


def test_ship_nodes_route_sales_to_a_cost_centre_and_new_customers_to_a_ledger_group(world: World) -> None:
    TallyClient(world.tally.base_url, world.company).import_masters([Group(name="NJ Walmart Customers",
                                                                          parent="Sundry Debtors")])
    nodes = world.home / "nodes.csv"
    nodes.write_text("ship_node,cost_centre,ledger_group\n10001234501,NJ Warehouse,NJ Walmart Customers\n")
    result = world.run("walmart_orders_to_tally", walmart_ship_node_map=str(nodes))
    failures = result.asset_materializations_for_node("tally__walmart_sales")[0].metadata["failures"].value.records
    assert {r.data["error"].split(": ", 1)[1].split(":")[0] for r in failures} <= {"orderLines[1].item.sku",
                                                                                  "orderLines[2].item.sku"}
    assert any(o.doc["shipNode"]["id"] == "10001234501" for o in released_pos(world).values())
    groups = {r.name: r.parent for r in TallyClient(world.tally.base_url, world.company).list_ledgers()}
    names = {node: {" ".join(o.doc["shippingInfo"]["postalAddress"]["name"].split())
                    for o in released_pos(world).values() if o.doc["shipNode"]["id"] == node}
             for node in ("10001234501", "10001234502")}
    before = {ledger["name"] for ledger in world.merchant.tally["ledgers"]}
    only_nj = names["10001234501"] - names["10001234502"] - before
    assert only_nj and {groups.get(name) for name in only_nj} == {"NJ Walmart Customers"}
    assert {groups.get(name) for name in names["10001234502"] - names["10001234501"] - before} == {"Sundry Debtors"}


def test_orders_are_acknowledged_once_their_sales_voucher_exists(world: World) -> None:
    created = {po for po, o in released_pos(world).items() if is_created(o)}
    world.run("walmart_orders_to_tally", walmart_acknowledge_orders=True)
    posted = {key.removeprefix("wm-po-") for key in world.per_key("Sales")}
    still_created = {po for po in created if is_created(world.state.orders[po])}
    assert created & posted and not (created & posted & still_created)
    assert created - posted <= still_created  # an order whose voucher failed is not acknowledged


def test_sync_by_date_posts_that_days_settlement(world: World) -> None:
    world.run("walmart_orders_to_tally")
    world.run("walmart_settlements_to_tally", settlement_date(report_day(world.specials.report_date)))
    assert world.per_key("Journal") == Counter({f"wm-settle-{world.specials.report_date}-j": 1})
