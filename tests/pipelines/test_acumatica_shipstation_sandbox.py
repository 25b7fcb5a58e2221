"""Acumatica <-> ShipStation against both simulators over real HTTP: the seeded merchant's Acumatica tenant
(sandbox/acumatica, sandbox/merchant_acumatica.py) and the ShipStation V1 simulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.acumatica import AcumaticaClient, EndpointVersionNotFound
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from pipelines.acumatica_shipstation import runs
from pipelines.acumatica_shipstation.mapping import OutboundConfig
from pipelines.acumatica_shipstation.posting import ORDERS_FLOW
from pipelines.acumatica_shipstation.shipments import InboundConfig
from sandbox.acumatica import AcumaticaState, Licence
from sandbox.merchant import generate_merchant
from sandbox.merchant_acumatica import (
    ACUMATICA_BRANCH,
    ACUMATICA_PASSWORD,
    ACUMATICA_SITE,
    ACUMATICA_TENANT,
    ACUMATICA_USERNAME,
    generate_acumatica,
    start_acumatica,
)
from sandbox.runner import ServedApp, serve
from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState
from state.ledger import SyncLedger

KEY, SECRET = "sb-key", "sb-secret"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Stack:
    acumatica: ServedApp
    acu_state: AcumaticaState
    special: dict[str, str]
    shipstation: ServedApp
    ss_state: ShipStationState
    ledger: SyncLedger

    def acu(self, version: str = "23.200.001") -> AcumaticaClient:
        return AcumaticaClient(url=self.acumatica.base_url + ACUMATICA_SITE, endpoint_version=version,
                               tenant=ACUMATICA_TENANT, branch=ACUMATICA_BRANCH, username=ACUMATICA_USERNAME,
                               password=ACUMATICA_PASSWORD, sleep=lambda s: None, poll_seconds=0.0)

    def ss(self) -> ShipStationClient:
        return ShipStationClient(api_key=KEY, api_secret=SECRET, base_url=self.shipstation.base_url,
                                 sleep=lambda s: None, rate_limiter=RateLimiter(sleep=lambda s: None))

    def sessions_open(self) -> int:
        return len(self.acu_state.sessions.sessions)

    def order(self, nbr: str) -> dict:
        return next(r for r in self.acu_state.all("SalesOrder") if r["OrderNbr"] == nbr)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    merchant = generate_merchant(seed=5, n_orders=40)
    # The licence's request queue (tested in tests/unit/test_sandbox_acumatica.py) would only make this wait.
    acumatica, acu_state = start_acumatica(merchant, seed=5, licence=Licence(requests_per_minute=None))
    special = generate_acumatica(merchant, seed=5).special
    ss_state = ShipStationState()
    shipstation = serve(create_app(ss_state, credentials={KEY: SECRET}, rate_limit=0, webhook_drop_rate=0.0))
    yield Stack(acumatica, acu_state, special, shipstation, ss_state, SyncLedger(tmp_path / "ledger.sqlite3"))
    acumatica.stop()
    shipstation.stop()


def test_a_wrong_version_names_what_the_simulated_instance_offers(stack: Stack) -> None:
    with stack.acu("23.100.001") as acu, pytest.raises(EndpointVersionNotFound) as caught:
        acu.get("SalesOrder", "SO", "SO000001")
    assert "offers Default/22.200.001, Default/23.200.001, Default/24.200.001" in str(caught.value)
    with stack.acu() as acu:
        assert acu.ping()["ok"]
    assert stack.sessions_open() == 0


def test_only_ready_paid_orders_go_out_and_come_back_as_shipments_line_by_line(stack: Stack) -> None:
    with stack.acu() as acu, stack.ss() as ss:
        out = runs.post_orders(acu, ss, stack.ledger, OutboundConfig(), "run-1", since=SINCE)
    assert stack.sessions_open() == 0
    keys = {o["orderKey"] for o in stack.ss_state.orders.values()}
    assert stack.special["fulfilment_ready"] in keys
    for unready in ("awaiting_capture", "unpaid_cod", "on_hold", "completed"):
        assert stack.special[unready] not in keys, unready
    assert stack.special["zero_weight_order"] not in keys and out.report.waiting == 1
    assert stack.ledger.get(ORDERS_FLOW, stack.special["zero_weight_order"], "shipstation").state == "waiting"
    assert out.report.failed == 0 and out.report.created == len(keys)

    with stack.acu() as acu, stack.ss() as ss:  # a second pass sends nothing again
        again = runs.post_orders(acu, ss, stack.ledger, OutboundConfig(), "run-2", since=SINCE)
    assert again.report.created == again.report.altered == 0 and len(stack.ss_state.orders) == len(keys)

    nbr = stack.special["fulfilment_ready"]
    order = next(o for o in stack.ss_state.orders.values() if o["orderKey"] == nbr)
    goods = [i for i in order["items"] if not i.get("adjustment")]
    first = stack.ss_state.create_label(order["orderId"], [{"lineItemKey": goods[0]["lineItemKey"],
                                                            "quantity": goods[0]["quantity"]}])
    with stack.acu() as acu, stack.ss() as ss:
        pages = ss.iter_shipment_pages_raw(SINCE, datetime.now(UTC) + timedelta(days=3650), by="create")
        back = runs.post_shipments(acu, ss, stack.ledger, InboundConfig(fulfil_on="label"), "run-3", pages)
        confirmed = runs.confirm_shipments(acu, stack.ledger, InboundConfig(fulfil_on="label"), lambda p: None,
                                           "run-4")
    assert back.report.created == 1 and confirmed.report.created == 1 and stack.sessions_open() == 0
    [shipment] = list(stack.acu_state.all("Shipment"))
    assert [p["TrackingNbr"] for p in shipment["Packages"]] == [first["trackingNumber"]]
    assert [(d["OrderNbr"], d["OrderLineNbr"]) for d in shipment["Details"]] == [(nbr, int(goods[0]["lineItemKey"]))]
    assert shipment["Status"] == "Confirmed"
    expected = "Completed" if len(goods) == 1 else "Back Order"
    assert stack.order(nbr)["Status"] == expected

    # the day's freight lands on the confirmed (closed) shipment: corrected, written, confirmed again
    with stack.acu() as acu:
        booked = runs.post_freight(acu, stack.ledger, InboundConfig(postage_currency="INR", base_currency="INR"),
                                   "run-5", first["shipDate"])
    assert booked.report.created == 1, booked.report.failures
    [shipment] = list(stack.acu_state.all("Shipment"))
    cost = first["shipmentCost"] + (first.get("insuranceCost") or 0)
    assert Decimal(str(shipment["FreightCost"])) == cost and shipment["Status"] == "Confirmed"
    assert stack.sessions_open() == 0


def test_a_thousand_calls_and_a_failure_mid_run_leave_no_session_on_the_simulator(stack: Stack) -> None:
    stack.acu_state.licence.update({"requests_per_minute": None, "max_api_users": 1})
    with stack.acu() as acu:
        for _ in range(1000):
            acu.get("SalesOrder", "SO", "SO000001")
        assert acu.sessions_opened == 1
    assert stack.sessions_open() == 0
    with pytest.raises(RuntimeError), stack.acu() as acu:
        acu.get("SalesOrder", "SO", "SO000001")
        raise RuntimeError("the run died mid-way")
    assert stack.sessions_open() == 0
    with stack.acu() as acu:  # the one licensed API user is free again
        assert acu.get("SalesOrder", "SO", "SO000001")["OrderNbr"] == "SO000001"


def test_oauth_password_grant_signs_in_and_leaves_no_session(stack: Stack) -> None:
    from sandbox.merchant_acumatica import ACUMATICA_CLIENT_ID, ACUMATICA_CLIENT_SECRET

    with AcumaticaClient(url=stack.acumatica.base_url + ACUMATICA_SITE, username=ACUMATICA_USERNAME,
                         password=ACUMATICA_PASSWORD, client_id=ACUMATICA_CLIENT_ID,
                         client_secret=ACUMATICA_CLIENT_SECRET, sleep=lambda s: None) as acu:
        assert acu.get("SalesOrder", "SO", "SO000001")["OrderNbr"] == "SO000001"
        assert "secret" not in repr(acu)
    assert stack.sessions_open() == 0
