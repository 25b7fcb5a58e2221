"""Contract: our ShipStationV2Client against the ShipStation V2 inventory simulator over real HTTP.

Each test serves its own simulator on a free loopback port (`sandbox.runner.serve`) and talks to it
through a real `httpx.HTTPTransport`, wrapped only to note when each request left and its answer came.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.common.errors import AuthError, BadRequest, ServerError
from connectors.common.ratelimit import SlidingWindow
from connectors.shipstation.v2 import ShipStationV2Client, default_pacer
from connectors.shipstation.v2_models import InventoryLevel, InventoryTransaction, Money
from sandbox.runner import ServedApp, serve
from sandbox.shipstation_v2 import ShipStationV2State, Signer, create_app
from tests.contract.tap import Tap

KEY = "contract-v2-key"
LIMIT, WINDOW = 3, 1.0  # simulator rate limit for the pacing tests: 3 requests per 1 s window


@dataclass
class Simulator:
    state: ShipStationV2State
    served: ServedApp
    sleeps: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.served.base_url

    @property
    def location(self) -> str:
        return next(iter(self.state.locations))

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = httpx.post(f"{self.url}/__sandbox/{path}", json=body) if body is not None else \
            httpx.get(f"{self.url}/__sandbox/{path}")
        assert reply.status_code == 200, reply.text
        return reply.json()

    def client(self, tap: Tap | None = None, *, key: str = KEY, real_sleep: bool = False,
               pacer: SlidingWindow | None = None, **options: Any) -> ShipStationV2Client:
        """Our client with its own pacer (never the process-wide one) and a recorded sleep."""

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            if real_sleep:
                time.sleep(seconds)

        return ShipStationV2Client(api_key=key, base_url=self.url, transport=tap or Tap(), sleep=sleep,
                                   pacer=pacer or default_pacer(sleep=sleep), rng=lambda: 0.0, **options)


Start = Callable[..., Simulator]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


@pytest.fixture
def simulator(signer: Signer) -> Iterator[Start]:
    """Start a simulator over `state` (rate limit off unless asked); every one is stopped afterwards."""
    started: list[ServedApp] = []

    def start(state: ShipStationV2State, *, rate_limit: int = 0, window_seconds: float = 60.0) -> Simulator:
        app = create_app(state, api_keys={KEY}, rate_limit=rate_limit, window_seconds=window_seconds, signer=signer)
        served = serve(app)
        started.append(served)
        return Simulator(state, served)

    yield start
    for served in started:
        served.stop()


def shop(n: int = 23) -> ShipStationV2State:
    """`n` SKUs with assorted stock and costs, a few allocated."""
    stock = {f"SKU-{i:03d}": (i * 7) % 40 for i in range(n)}
    costs = {sku: Decimal(f"{10 + i}.25") for i, sku in enumerate(stock) if i % 3}
    return ShipStationV2State.seeded(stock, costs=costs, allocated={"SKU-001": 2, "SKU-004": 30})


def expected(state: ShipStationV2State, **filters: Any) -> list[InventoryLevel]:
    return [InventoryLevel.model_validate(row) for row in state.levels(**filters)]


# -- reads ----------------------------------------------------------------------------------------


def test_every_level_comes_back_once_over_many_pages(simulator: Start) -> None:
    sim = simulator(shop())
    with sim.client() as client:
        got = list(client.iter_inventory(page_size=5))
    assert got == expected(sim.state)
    assert len(got) == 23 and len({level.sku for level in got}) == 23
    assert sim.control("stats")["by_path"] == {"GET /v2/inventory": 5}
    over = next(level for level in got if level.sku == "SKU-004")
    assert (over.on_hand, over.allocated, over.available) == (28, 30, -2)
    costed = next(level for level in got if level.sku == "SKU-001")
    assert costed.average_cost == Money(amount=Decimal("11.25"), currency="INR")
    assert next(level for level in got if level.sku == "SKU-000").average_cost is None


def test_filters_and_grouping(simulator: Start) -> None:
    state = shop(6)
    second = state.add_location(next(iter(state.warehouses)), "B-01")["inventory_location_id"]
    state.put_level("SKU-002", second, 6, cost=(Decimal("20"), "inr"))
    sim = simulator(state)
    with sim.client() as client:
        one_sku = list(client.iter_inventory(sku="SKU-002"))
        at_second = list(client.iter_inventory(location_id=second))
        by_warehouse = list(client.iter_inventory(sku="SKU-002", group_by="warehouse"))
    assert [(lv.inventory_location_id, lv.on_hand) for lv in one_sku] == [(sim.location, 14), (second, 6)]
    assert [lv.sku for lv in at_second] == ["SKU-002"]
    (total,) = by_warehouse
    assert (total.on_hand, total.inventory_location_id) == (20, None)
    assert total.average_cost == Money(amount=Decimal("14.575"), currency="INR")  # (14 × 12.25 + 6 × 20) / 20


def test_warehouses_and_locations(simulator: Start) -> None:
    state = ShipStationV2State.from_levels(
        [{"name": "Bengaluru"}, {"name": "Pune"}],
        [{"inventory_location_id": "se-7", "inventory_warehouse_id": "se-100001", "name": "BLR-A1"},
         {"inventory_location_id": "se-8", "inventory_warehouse_id": "se-100002", "name": "PUN-A1"}],
        [{"sku": "TEA", "inventory_location_id": "se-8", "on_hand": 4}])
    sim = simulator(state)
    with sim.client() as client:
        warehouses = client.list_inventory_warehouses(page_size=1)
        locations = client.list_inventory_locations(page_size=1)
        (tea,) = client.iter_inventory()
    assert [(w.inventory_warehouse_id, w.name) for w in warehouses] == [("se-100001", "Bengaluru"),
                                                                       ("se-100002", "Pune")]
    assert [(loc.inventory_location_id, loc.inventory_warehouse_id) for loc in locations] == [
        ("se-7", "se-100001"), ("se-8", "se-100002")]
    assert all(w.created_at is not None and w.created_at.utcoffset().total_seconds() == 0 for w in warehouses)
    assert (tea.inventory_warehouse_id, tea.inventory_location_id) == ("se-100002", "se-8")


def test_ping(simulator: Start) -> None:
    sim = simulator(shop(2))
    with sim.client() as client, sim.client(key="not-the-key") as wrong:
        ok, failed = client.ping(), wrong.ping()
    assert ok["ok"] is True and ok["inventory_warehouses_total"] == 1
    assert failed["ok"] is False and failed["status"] == 401 and "not-the-key" not in failed["message"]


# -- writes ---------------------------------------------------------------------------------------


def test_adjust_brings_each_sku_to_the_counted_quantity(simulator: Start) -> None:
    """Some SKUs already agree with the count, some differ, one is new to ShipStation."""
    state = ShipStationV2State.seeded({"SAME": 5, "MORE": 2, "LESS": 9, "ZERO": 3},
                                      costs={"LESS": Decimal("7.50")}, allocated={"LESS": 1})
    counted = {"SAME": 5, "MORE": 12, "LESS": 4, "ZERO": 0, "NEW": 8}
    sim = simulator(state)
    with sim.client() as client:
        for sku, quantity in counted.items():
            client.adjust(sku, quantity, sim.location, reason="stock count", notes="from Tally")
        got = {level.sku: level for level in client.iter_inventory()}
    assert {sku: level.on_hand for sku, level in got.items()} == counted
    assert got["LESS"].available == 3 and got["LESS"].average_cost == Money(amount=Decimal("7.5"), currency="INR")
    log = sim.control("transactions")["transactions"]
    assert [(t["body"]["sku"], t["body"]["quantity"], t["status"]) for t in log] == [
        (sku, qty, 204) for sku, qty in counted.items()]
    assert all(t["body"]["transaction_type"] == "adjust" and t["body"]["notes"] == "from Tally" for t in log)


def test_modify_moves_and_relabels_units(simulator: Start) -> None:
    state = ShipStationV2State.seeded({"TEA": 10}, costs={"TEA": Decimal("4.00")})
    shelf = state.add_location(next(iter(state.warehouses)), "QA-HOLD")["inventory_location_id"]
    sim = simulator(state)
    with sim.client() as client:
        client.modify("TEA", 3, sim.location, new_location_id=shelf, new_condition="qa_hold",
                      new_cost=Money(amount=Decimal("3.10"), currency="INR"))
        got = {level.inventory_location_id: level for level in client.iter_inventory(sku="TEA")}
    assert (got[sim.location].on_hand, got[shelf].on_hand) == (7, 3)
    assert got[shelf].average_cost == Money(amount=Decimal("3.1"), currency="INR")
    batches = sim.control("inventory")["batches"]
    assert {(b["inventory_location_id"], b["condition"]) for b in batches} == {(sim.location, "sellable"),
                                                                              (shelf, "qa_hold")}


def test_a_refused_transaction_is_a_bad_request_naming_the_sku(simulator: Start) -> None:
    sim = simulator(shop(3))
    with sim.client() as client:
        with pytest.raises(BadRequest) as unknown:
            client.adjust("SKU-001", 4, "se-999")
        with pytest.raises(BadRequest) as short:
            client.post_transaction(_tx("decrement", "SKU-000", 1, sim.location))
    assert "adjust sku 'SKU-001' at location 'se-999'" in str(unknown.value)
    assert "invalid_identifier: [sandbox] inventory_location_id 'se-999' was not found" in str(unknown.value)
    assert "cannot remove 1" in str(short.value) and unknown.value.status == 400
    assert sim.control("stats")["by_status"] == {"400": 2} and sim.sleeps == []


def test_wrong_key_is_an_auth_error_without_retrying(simulator: Start) -> None:
    sim = simulator(shop(2))
    with sim.client(key="not-the-key") as client:
        with pytest.raises(AuthError) as raised:
            client.adjust("SKU-001", 1, sim.location)
    assert raised.value.status == 401 and "not-the-key" not in str(raised.value)
    assert sim.control("stats")["by_status"] == {"401": 1} and sim.sleeps == []


def test_a_lost_increment_response_is_not_resent(simulator: Start) -> None:
    sim = simulator(ShipStationV2State.seeded({"TEA": 10}))
    sim.control("faults", {"status": 502, "count": 1, "after_apply": True})
    with sim.client() as client:
        with pytest.raises(ServerError):
            client.post_transaction(_tx("increment", "TEA", 5, sim.location))
    assert sim.state.on_hand("TEA", sim.location) == 15  # applied once, never twice
    assert len(sim.control("transactions")["transactions"]) == 1 and sim.sleeps == []


def test_a_lost_adjust_response_is_resent_and_lands_once(simulator: Start) -> None:
    sim = simulator(ShipStationV2State.seeded({"TEA": 10}))
    sim.control("faults", {"status": 500, "count": 2, "after_apply": True})
    with sim.client() as client:
        client.adjust("TEA", 4, sim.location)
    assert sim.state.on_hand("TEA", sim.location) == 4
    assert [t["status"] for t in sim.control("transactions")["transactions"]] == [204, 204, 204]
    assert sim.control("stats")["by_status"] == {"500": 2, "204": 1} and len(sim.sleeps) == 2


# -- rate limiting --------------------------------------------------------------------------------


def test_pacing_matches_the_server_window_and_meets_no_429(simulator: Start) -> None:
    sim = simulator(shop(8), rate_limit=LIMIT, window_seconds=WINDOW)
    tap = Tap()
    pacer = SlidingWindow(LIMIT, WINDOW, padding=0.1, sleep=time.sleep)
    with sim.client(tap, pacer=pacer) as client:
        got = list(client.iter_inventory(page_size=1))
    assert [lv.sku for lv in got] == [f"SKU-{i:03d}" for i in range(8)]
    stats = sim.control("stats")
    assert stats["throttled"] == 0 and stats["by_status"] == {"200": 8}
    sent = [e.sent for e in tap.exchanges]
    assert all(later - earlier >= WINDOW for earlier, later in zip(sent, sent[LIMIT:], strict=False))


def test_budget_spent_elsewhere_costs_one_429_then_waits_for_retry_after(simulator: Start) -> None:
    sim = simulator(shop(2), rate_limit=LIMIT, window_seconds=WINDOW)
    for _ in range(LIMIT):
        assert httpx.get(f"{sim.url}/v2/inventory", headers={"API-Key": KEY}).status_code == 200
    tap = Tap()
    with sim.client(tap, real_sleep=True) as client:
        got = list(client.iter_inventory())
    assert len(got) == 2
    assert [e.status for e in tap.exchanges] == [429, 200]
    assert sim.sleeps and sim.sleeps[0] >= 1.0  # Retry-After: 1
    assert tap.exchanges[1].sent - tap.exchanges[0].received >= 1.0
    assert sim.control("stats")["throttled"] == 1


def _tx(kind: str, sku: str, quantity: int, location: str) -> InventoryTransaction:
    return InventoryTransaction(transaction_type=kind, sku=sku, quantity=quantity, inventory_location_id=location)
