"""Acumatica <-> ShipStation, pass by pass: the ShipStation V1 simulator over real HTTP, Acumatica as the
reference's test double (tests/unit/test_acumatica_fake.py, over httpx.MockTransport) until its simulator lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.acumatica import AcumaticaClient
from connectors.common.errors import ServerError
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from pipelines.acumatica_shipstation import runs
from pipelines.acumatica_shipstation.mapping import OutboundConfig
from pipelines.acumatica_shipstation.posting import CONFIRM_FLOW, FREIGHT_FLOW, ORDERS_FLOW, SHIPMENTS_FLOW
from pipelines.acumatica_shipstation.shipments import InboundConfig
from sandbox.runner import serve
from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState
from state.ledger import SyncLedger
from tests.unit.test_acumatica_fake import FakeAcumatica, transport

KEY, SECRET = "acu-key", "acu-secret"
T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def sales_order(nbr: str, *, lines: list[tuple[int, str, int]] = ((1, "TEA-GRN", 2),), status: str = "Open",
                unpaid: str = "0.00", total: str = "25.00") -> dict:
    return {"OrderType": "SO", "OrderNbr": nbr, "Status": status, "Hold": False, "Date": "2026-03-02T10:00:00+00:00",
            "CustomerID": "C0001", "CurrencyID": "USD", "OrderTotal": total, "TaxTotal": "1.00",
            "ShipVia": "USPS", "ShipToAddress": {"AddressLine1": "742 Cedar Ave", "City": "Fremont", "State": "CA",
                                                 "PostalCode": "94538", "Country": "US"},
            "ShipToContact": {"Attention": "Anita Rao", "Email": "a.rao@example.com"},
            "BillToAddress": {"City": "Fremont", "Country": "US"}, "BillToContact": {"Attention": "Anita Rao"},
            "Totals": {"Freight": "4.75", "UnpaidBalance": unpaid},
            "PreferredWarehouseID": "MAIN",
            "Details": [{"LineNbr": n, "InventoryID": sku, "OrderQty": qty, "UnitPrice": "10.00",
                         "LineDescription": sku} for n, sku, qty in lines]}


@dataclass
class World:
    acumatica: FakeAcumatica
    shipstation: ShipStationState
    ss_url: str
    ledger: SyncLedger
    runs: int = 0

    def acu(self, **kw) -> AcumaticaClient:
        return AcumaticaClient(url="https://erp.test", tenant="Acme", branch="MAIN", username="admin",
                               password="secret", transport=transport(self.acumatica), sleep=lambda s: None, **kw)

    def ss(self) -> ShipStationClient:
        return ShipStationClient(api_key=KEY, api_secret=SECRET, base_url=self.ss_url, sleep=lambda s: None,
                                 rate_limiter=RateLimiter(sleep=lambda s: None), rng=lambda: 0.0)

    def out(self, cfg: OutboundConfig = OutboundConfig()):
        self.runs += 1
        with self.acu() as acu, self.ss() as ss:
            return runs.post_orders(acu, ss, self.ledger, cfg, f"run-{self.runs}", since=SINCE)

    def back(self, cfg: InboundConfig = InboundConfig()):
        self.runs += 1
        with self.acu() as acu, self.ss() as ss:
            pages = ss.iter_shipment_pages_raw(SINCE, datetime.now(UTC) + timedelta(days=400), by="create")
            posted = runs.post_shipments(acu, ss, self.ledger, cfg, f"run-{self.runs}", pages)
            voids = ss.iter_shipment_pages_raw(SINCE, datetime.now(UTC) + timedelta(days=400), by="void")
            runs.post_shipments(acu, ss, self.ledger, cfg, f"run-{self.runs}v", voids)
            return posted

    def confirm(self, cfg: InboundConfig, scanned=lambda posted: None):
        self.runs += 1
        with self.acu() as acu:
            return runs.confirm_shipments(acu, self.ledger, cfg, scanned, f"run-{self.runs}")

    def ss_orders(self, key: str) -> list[dict]:
        return [o for o in self.shipstation.orders.values() if o["orderKey"] == key]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    ticks = iter(range(1, 1_000_000))
    state = ShipStationState(now=lambda: T0 + timedelta(seconds=next(ticks)))
    served = serve(create_app(state, credentials={KEY: SECRET}, rate_limit=0, webhook_drop_rate=0.0))
    fake = FakeAcumatica()
    for sku, weight in (("TEA-GRN", "0.55"), ("MUG-BLU", "1.2"), ("CARD", "0")):
        fake.add("StockItem", {"InventoryID": sku, "Description": sku, "ItemStatus": "Active",
                               "DimensionWeight": weight, "WeightUOM": "LB"})
    fake.add("Customer", {"CustomerID": "C0001", "CustomerName": "Anita Rao", "Email": "a.rao@example.com"})
    yield World(fake, state, served.base_url, SyncLedger(tmp_path / "ledger.sqlite3"))
    served.stop()


def test_ready_orders_go_once_a_resend_updates_and_nothing_duplicates(world: World) -> None:
    world.acumatica.add("SalesOrder", sales_order("SO000101", lines=[(1, "TEA-GRN", 2), (2, "MUG-BLU", 1)]))
    world.acumatica.add("SalesOrder", sales_order("SO000102", unpaid="25.00"))  # payment not captured
    world.acumatica.add("SalesOrder", sales_order("SO000103", status="On Hold"))
    first = world.out()
    assert first.report.created == 1 and sum(first.not_ready.values()) == 2
    [order] = world.ss_orders("SO000101")
    assert [(i["sku"], i["quantity"], i["lineItemKey"]) for i in order["items"]] == [("TEA-GRN", 2, "1"),
                                                                                     ("MUG-BLU", 1, "2")]
    assert order["items"][0]["weight"] == {"value": Decimal("0.55"), "units": "pounds"}
    assert order["orderDate"] == datetime(2026, 3, 2, 10, tzinfo=UTC)  # sent as Pacific wall time, read back
    assert world.out().report.skipped == 1  # unchanged: nothing sent

    world.acumatica.touch("SalesOrder", ("SO", "SO000101"),
                          Details=[{"LineNbr": 1, "InventoryID": "TEA-GRN", "OrderQty": 3, "UnitPrice": "10.00"}])
    world.acumatica.touch("SalesOrder", ("SO", "SO000102"), Totals={"Freight": "4.75", "UnpaidBalance": "0.00"})
    again = world.out()
    assert (again.report.altered, again.report.created) == (1, 1)
    assert [i["quantity"] for i in world.ss_orders("SO000101")[0]["items"]] == [3]
    assert len(world.ss_orders("SO000101")) == len(world.ss_orders("SO000102")) == 1
    assert len(world.shipstation.orders) == 2


def test_a_line_without_weight_holds_its_order_back_until_the_item_is_fixed(world: World) -> None:
    world.acumatica.add("SalesOrder", sales_order("SO000201", lines=[(1, "TEA-GRN", 1), (2, "CARD", 1)]))
    poster = world.out()
    assert poster.report.waiting == 1 and world.ss_orders("SO000201") == []
    assert "CARD has no weight" in poster.held[0]["error"]
    assert world.ledger.get(ORDERS_FLOW, "SO000201", "shipstation").state == "waiting"
    world.acumatica.touch("StockItem", ("CARD",), DimensionWeight="0.05")  # the order itself is untouched
    assert world.out().report.created == 1 and len(world.ss_orders("SO000201")) == 1


def test_a_shipped_order_is_never_changed_and_a_late_edit_is_reported_with_both_versions(world: World) -> None:
    world.acumatica.add("SalesOrder", sales_order("SO000301"))
    world.out()
    [order] = world.ss_orders("SO000301")
    world.shipstation.create_label(order["orderId"])
    world.acumatica.touch("SalesOrder", ("SO", "SO000301"),
                          Details=[{"LineNbr": 1, "InventoryID": "TEA-GRN", "OrderQty": 5, "UnitPrice": "10.00"}])
    late = world.out()
    assert late.report.failed == 1
    error = world.ledger.get(ORDERS_FLOW, "SO000301", "shipstation").last_error
    assert error.startswith("late edit: ShipStation order SO000301")
    assert "holds [shipped; 2 × TEA-GRN" in error and "now says [awaiting_shipment; 5 × TEA-GRN" in error
    assert [i["quantity"] for i in world.ss_orders("SO000301")[0]["items"]] == [2]
    assert len(world.ss_orders("SO000301")) == 1


def test_an_order_cancelled_in_acumatica_is_cancelled_in_shipstation(world: World) -> None:
    world.acumatica.add("SalesOrder", sales_order("SO000401"))
    world.out()
    world.acumatica.touch("SalesOrder", ("SO", "SO000401"), Status="Canceled")
    assert world.out().report.cancelled == 1
    assert world.ss_orders("SO000401")[0]["orderStatus"] == "cancelled"


def test_partial_shipments_map_each_tracking_number_to_its_lines_and_confirm_on_the_carrier_scan(world: World):
    world.acumatica.add("SalesOrder", sales_order("SO000501", lines=[(1, "TEA-GRN", 2), (2, "MUG-BLU", 1)]))
    world.out()
    [order] = world.ss_orders("SO000501")
    first = world.shipstation.create_label(order["orderId"], [{"lineItemKey": "1", "quantity": 2}])
    second = world.shipstation.create_label(order["orderId"], [{"lineItemKey": "2", "quantity": 1}])
    assert world.back().report.created == 2
    shipments = {s["Packages"][0]["TrackingNbr"]: s for s in world.acumatica.shipments()}
    assert {t: [(d["OrderLineNbr"], d["ShippedQty"]) for d in s["Details"]] for t, s in shipments.items()} == {
        first["trackingNumber"]: [(1, 2)], second["trackingNumber"]: [(2, 1)]}
    assert all(s["Status"] == "Open" for s in shipments.values())
    assert world.back().report.skipped == 2  # a re-read posts nothing twice

    cfg = InboundConfig(fulfil_on="carrier_scan")
    waiting = world.confirm(cfg, scanned=lambda posted: False)  # labels printed, no scan yet
    assert waiting.awaiting_scan == 2 and waiting.report.created == 0
    assert all(s["Status"] == "Open" for s in world.acumatica.shipments())
    scanned = {first["trackingNumber"]}
    partial = world.confirm(cfg, scanned=lambda posted: posted.tracking in scanned)
    assert partial.report.created == 1 and partial.awaiting_scan == 1
    assert world.acumatica.records["SalesOrder"][("SO", "SO000501")]["Status"] == "Back Order"
    scanned.add(second["trackingNumber"])
    asked: list[int] = []
    last = world.confirm(cfg, scanned=lambda posted: asked.append(posted.label_id) or posted.tracking in scanned)
    assert last.report.created == 1 and asked == [second["shipmentId"]]  # a confirmed one is not tracked again
    assert world.acumatica.records["SalesOrder"][("SO", "SO000501")]["Status"] == "Completed"
    assert world.ledger.counts(CONFIRM_FLOW).get("posted") == 2


def test_the_label_policy_confirms_at_once_and_a_voided_label_reverses(world: World) -> None:
    world.acumatica.add("SalesOrder", sales_order("SO000601"))
    world.out()
    [order] = world.ss_orders("SO000601")
    label = world.shipstation.create_label(order["orderId"])
    world.back()
    assert world.confirm(InboundConfig(fulfil_on="label")).report.created == 1
    assert world.acumatica.records["SalesOrder"][("SO", "SO000601")]["Status"] == "Completed"
    world.shipstation.void_label(label["shipmentId"])
    assert world.back().report.created == 0
    assert world.acumatica.shipments() == []  # corrected, then deleted
    assert world.acumatica.records["SalesOrder"][("SO", "SO000601")]["Status"] == "Open"
    assert world.ledger.get(SHIPMENTS_FLOW, str(label["shipmentId"]), "acumatica").cancelled


def test_freight_is_batched_by_day_converted_at_the_rate_or_flagged(world: World) -> None:
    world.acumatica.add("SalesOrder", sales_order("SO000701"))
    world.out()
    [order] = world.ss_orders("SO000701")
    label = world.shipstation.create_label(order["orderId"])
    world.back()
    day = label["shipDate"]
    cost = label["shipmentCost"] + (label.get("insuranceCost") or 0)
    flagged = InboundConfig(postage_currency="INR", base_currency="USD")
    with world.acu() as acu:
        held = runs.post_freight(acu, world.ledger, flagged, "freight-1", day)
    assert held.report.failed == 1 and "currency mismatch" in held.report.failures[0]["error"]
    converted = InboundConfig(postage_currency="INR", base_currency="USD", postage_rate=Decimal("0.012"))
    with world.acu() as acu:
        done = runs.post_freight(acu, world.ledger, converted, "freight-2", day)
    assert done.report.created == 1
    [shipment] = world.acumatica.shipments()
    assert Decimal(str(shipment["FreightCost"])) == (cost * Decimal("0.012")).quantize(Decimal("0.01"))
    assert world.ledger.get(FREIGHT_FLOW, str(label["shipmentId"]), "acumatica").state == "posted"


def test_sessions_are_always_logged_out_across_every_pass(world: World) -> None:
    world.acumatica.max_sessions = 1
    world.acumatica.add("SalesOrder", sales_order("SO000801"))
    world.out()
    world.acumatica.fail_put_500 = 10  # Acumatica fails mid-run while writing shipments
    [order] = world.ss_orders("SO000801")
    world.shipstation.create_label(order["orderId"])
    with pytest.raises(ServerError):
        world.back()
    assert world.acumatica.sessions == {} and world.acumatica.logins == world.acumatica.logouts
    world.acumatica.fail_put_500 = 0
    assert world.back().report.resolved == 1  # the lost write is looked up before anything is re-sent
    assert len(world.acumatica.shipments()) <= 1 and world.acumatica.sessions == {}
