"""Contract: our ShipStationClient against the ShipStation V1 simulator over real HTTP (style rule 7).

Each test serves its own simulator on a free loopback port (`sandbox.runner.serve`) and talks to it
through a real `httpx.HTTPTransport`, wrapped only to note when each request left and its answer came.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from connectors.common.errors import AuthError, NotFound, ServerError
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.models import Order
from connectors.shipstation.ratelimit import RateLimiter
from sandbox.merchant import Merchant, generate_merchant
from sandbox.runner import ServedApp, serve
from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState
from tests.contract.tap import Exchange, Tap

KEY, SECRET = "contract-key", "contract-secret"
PACIFIC = ZoneInfo("America/Los_Angeles")
N_ORDERS = 60
PAGE_SIZE = 7
LIMIT, WINDOW = 5, 1.0  # simulator rate limit for the pacing tests: 5 requests per 1 s window


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    """Read-only: the simulator stores new dicts on every change and never mutates the merchant."""
    return generate_merchant(seed=23, n_orders=N_ORDERS)


@dataclass
class Simulator:
    state: ShipStationState
    served: ServedApp
    sleeps: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.served.base_url

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/__sandbox/stats").json()

    def queue_faults(self, status: int, count: int) -> None:
        reply = httpx.post(f"{self.url}/__sandbox/faults", json={"status": status, "count": count})
        assert reply.status_code == 200, reply.text

    def client(self, tap: Tap | None = None, *, real_sleep: bool = False, secret: str = SECRET,
               padding: float = 0.2, **options: Any) -> ShipStationClient:
        """Our client with its own limiter (never the process-wide one) and a recorded sleep."""

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            if real_sleep:
                time.sleep(seconds)

        limiter = RateLimiter(padding=padding, sleep=sleep)
        return ShipStationClient(api_key=KEY, api_secret=secret, base_url=self.url, transport=tap or Tap(),
                                 sleep=sleep, rate_limiter=limiter, rng=lambda: 0.0, **options)


Start = Callable[..., Simulator]


@pytest.fixture
def simulator(merchant: Merchant) -> Iterator[Start]:
    """Start a simulator for `merchant` (rate limit off unless asked); every one is stopped afterwards."""
    started: list[ServedApp] = []

    def start(*, rate_limit: int = 0, window_seconds: float = 60.0) -> Simulator:
        ticks = iter(range(1, 1_000_000))
        # Edits made by a test are stamped just after the merchant's history, never in the past.
        state = ShipStationState.from_merchant(merchant, now=lambda: merchant.start + timedelta(seconds=next(ticks)))
        app = create_app(state, credentials={KEY: SECRET}, rate_limit=rate_limit, window_seconds=window_seconds)
        served = serve(app)
        started.append(served)
        return Simulator(state, served)

    yield start
    for served in started:
        served.stop()


def by_modify_date(merchant: Merchant) -> list[dict[str, Any]]:
    return sorted(merchant.orders, key=lambda o: (o["modifyDate"], o["orderId"]))


def merchant_order(merchant: Merchant, order_id: int) -> dict[str, Any]:
    return next(o for o in merchant.orders if o["orderId"] == order_id)


def assert_same_order(got: Order, stored: dict[str, Any]) -> None:
    """Money as Decimal equal to the simulator's, datetimes aware UTC equal to the stored instants."""
    assert (got.order_id, got.order_number, got.order_status) == (
        stored["orderId"], stored["orderNumber"], stored["orderStatus"])
    for name in ("order_total", "amount_paid", "tax_amount", "shipping_amount"):
        value = getattr(got, name)
        assert isinstance(value, Decimal)
        assert value == stored.get(_camel(name), Decimal(0)), name
    for name in ("order_date", "create_date", "modify_date", "payment_date"):
        value = getattr(got, name)
        assert value == stored.get(_camel(name)), name
        assert value is None or value.utcoffset() == timedelta(0)
    assert [(i.line_item_key, i.sku, i.quantity, i.unit_price, i.adjustment, i.create_date) for i in got.items] == [
        (s["lineItemKey"], s["sku"], s["quantity"], s["unitPrice"], s["adjustment"], s["createDate"])
        for s in stored["items"]]
    assert all(isinstance(i.unit_price, Decimal) for i in got.items)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# -- orders ---------------------------------------------------------------------------------------


def test_every_order_comes_back_exactly_once_over_many_pages(simulator: Start, merchant: Merchant) -> None:
    sim = simulator()
    ordered = by_modify_date(merchant)
    start, end = ordered[0]["modifyDate"], ordered[-1]["modifyDate"]
    with sim.client() as client:
        pages = list(client.iter_order_pages(start, end, page_size=PAGE_SIZE))

    got = [order for page in pages for order in page]
    assert Counter(o.order_id for o in got) == Counter(o["orderId"] for o in merchant.orders)
    assert [o.modify_date for o in got] == sorted(o.modify_date for o in got)
    assert all(len(page) <= PAGE_SIZE for page in pages)
    assert sim.stats()["by_path"]["/orders"] >= math.ceil(N_ORDERS / PAGE_SIZE)
    stored = {o["orderId"]: o for o in merchant.orders}
    for order in got:
        assert_same_order(order, stored[order.order_id])


def test_modify_date_window_is_sent_in_pacific_time(simulator: Start, merchant: Merchant) -> None:
    """Both bounds sit 30 min before an order; sending UTC wall time would shift them 7–8 h later."""
    ordered = by_modify_date(merchant)
    quiet_before = [i for i in range(1, len(ordered))
                    if ordered[i]["modifyDate"] - ordered[i - 1]["modifyDate"] > timedelta(hours=1)]
    first = quiet_before[len(quiet_before) // 4]
    last = next(i for i in quiet_before if i >= first + 9)  # at least three pages of three in between
    start = ordered[first]["modifyDate"] - timedelta(minutes=30)
    end = ordered[last]["modifyDate"] - timedelta(minutes=30)
    assert start.astimezone(PACIFIC).utcoffset() <= timedelta(hours=-7)  # the drift a UTC client would have
    sim = simulator()
    with sim.client() as client:
        got = list(client.iter_orders(start, end, page_size=3))

    assert [o.order_id for o in got] == [o["orderId"] for o in ordered[first:last]]
    assert got[0].order_id == ordered[first]["orderId"]  # 30 min after start: missed if start drifted
    assert ordered[last]["orderId"] not in {o.order_id for o in got}  # 30 min after end: drift would add it
    assert all(start <= o.modify_date <= end for o in got)


def test_orders_edited_between_pages_are_still_returned(simulator: Start, merchant: Merchant) -> None:
    ordered = by_modify_date(merchant)
    open_ids = [o["orderId"] for o in ordered if o["orderStatus"] == "awaiting_shipment"]
    seen_early = next(i for i in open_ids if i in {o["orderId"] for o in ordered[1:PAGE_SIZE]})
    not_yet_seen = open_ids[-3]  # on one of the last pages
    sim = simulator()
    edits: list[dict[str, Any]] = []

    def edit_after_first_page(exchange: Exchange) -> None:
        if exchange.path == "/orders" and not edits:
            for order_id in (seen_early, not_yet_seen):
                line = sim.state.orders[order_id]["items"][0]
                edits.append(sim.state.edit_line(order_id, line["lineItemKey"], quantity=line["quantity"] + 1))

    with sim.client(Tap(after=edit_after_first_page)) as client:
        got = list(client.iter_orders(ordered[0]["modifyDate"], page_size=PAGE_SIZE))

    assert len(edits) == 2
    counts = Counter(o.order_id for o in got)
    assert set(counts) == {o["orderId"] for o in merchant.orders}  # nothing skipped by the shift
    assert counts[seen_early] == 2 and counts[not_yet_seen] == 1  # the early one again, as its new version
    assert sum(counts.values()) == N_ORDERS + 1
    latest = {o.order_id: o for o in got}  # oldest modification first, so the last copy wins
    for edited in edits:
        assert_same_order(latest[edited["orderId"]], edited)
        assert latest[edited["orderId"]].order_total != merchant_order(merchant, edited["orderId"])["orderTotal"]


def test_latest_modify_date(simulator: Start, merchant: Merchant) -> None:
    ordered = by_modify_date(merchant)
    sim = simulator()
    with sim.client() as client:
        assert client.latest_modify_date(ordered[0]["modifyDate"]) == ordered[-1]["modifyDate"]
        assert client.latest_modify_date(ordered[-1]["modifyDate"] + timedelta(seconds=1)) is None
        target = next(o for o in ordered if o["orderStatus"] == "awaiting_shipment")
        edited = sim.state.edit_line(target["orderId"], target["items"][0]["lineItemKey"], quantity=9)
        latest = client.latest_modify_date(ordered[0]["modifyDate"])
    assert latest == edited["modifyDate"] and latest.tzinfo is not None and latest.utcoffset() == timedelta(0)
    assert sim.stats()["by_path"] == {"/orders": 3}  # one cheap call each


def test_get_order_and_not_found(simulator: Start, merchant: Merchant) -> None:
    awkward = merchant.order(merchant.special["awkward_customer"])
    sim = simulator()
    with sim.client() as client:
        order = client.get_order(awkward["orderId"])
        with pytest.raises(NotFound):
            client.get_order(1)
    assert_same_order(order, awkward)
    assert order.bill_to is not None and order.bill_to.name == "Ram & Shyam Traders"
    assert sim.stats()["by_status"] == {"200": 1, "404": 1}  # a 404 is not retried
    assert sim.sleeps == []


# -- products and customers -------------------------------------------------------------------------


def test_products_active_and_all(simulator: Start, merchant: Merchant) -> None:
    sim = simulator()
    with sim.client() as client:
        active = list(client.iter_products(page_size=40))
        everything = list(client.iter_products(show_inactive=True, page_size=500))

    stored = {p["productId"]: p for p in merchant.products}
    assert [p.sku for p in active] == sorted((p["sku"] for p in merchant.products if p["active"]), key=str.casefold)
    assert {p.product_id for p in everything} == set(stored)
    assert any(not p.active for p in everything)
    for product in everything:
        raw = stored[product.product_id]
        assert (product.sku, product.name, product.price, product.default_cost) == (
            raw["sku"], raw["name"], raw["price"], raw["defaultCost"])
        assert isinstance(product.price, Decimal)
        assert product.create_date == raw["createDate"] and product.create_date.utcoffset() == timedelta(0)


def test_customers_newest_first_with_names_intact(simulator: Start, merchant: Merchant) -> None:
    sim = simulator()
    with sim.client() as client:
        customers = list(client.iter_customers(page_size=10))

    stored = {c["customerId"]: c for c in merchant.customers}
    assert [c.customer_id for c in customers] == [c["customerId"] for c in sorted(
        merchant.customers, key=lambda c: (c["modifyDate"], c["customerId"]), reverse=True)]
    for customer in customers:
        raw = stored[customer.customer_id]
        assert (customer.name, customer.email, customer.create_date) == (raw["name"], raw["email"], raw["createDate"])
        assert [u.username for u in customer.marketplace_usernames] == [raw["customerUsername"]]
    assert {"Ram & Shyam Traders", "राम कुमार", "<Angle> Brackets Pvt Ltd"} <= {c.name for c in customers}


# -- errors and retries ---------------------------------------------------------------------------


def test_wrong_credentials_raise_auth_error_without_retrying(simulator: Start) -> None:
    sim = simulator()
    with sim.client(secret="not-the-secret") as client:
        with pytest.raises(AuthError) as raised:
            client.get_order(1)
    assert raised.value.status == 401
    assert "not-the-secret" not in str(raised.value)
    assert sim.stats()["by_status"] == {"401": 1}
    assert sim.sleeps == []


def test_injected_server_errors_are_retried_and_succeed(simulator: Start, merchant: Merchant) -> None:
    order = merchant.orders[0]
    sim = simulator()
    sim.queue_faults(500, 2)
    sim.queue_faults(503, 1)
    with sim.client() as client:
        got = client.get_order(order["orderId"])
    assert_same_order(got, order)
    assert sim.stats()["by_status"] == {"500": 2, "503": 1, "200": 1}
    assert len(sim.sleeps) == 3  # one backoff per failed attempt


def test_a_fault_in_the_middle_of_a_scan_loses_no_order(simulator: Start, merchant: Merchant) -> None:
    sim = simulator()

    def fault_after_second_page(exchange: Exchange) -> None:
        if exchange.path == "/orders" and exchange.status == 200 and len(tap.exchanges) == 2:
            sim.queue_faults(500, 1)

    tap = Tap(after=fault_after_second_page)
    with sim.client(tap) as client:
        got = list(client.iter_orders(by_modify_date(merchant)[0]["modifyDate"], page_size=PAGE_SIZE))
    assert Counter(o.order_id for o in got) == Counter(o["orderId"] for o in merchant.orders)
    assert [e.status for e in tap.exchanges[:4]] == [200, 200, 500, 200]


def test_server_errors_beyond_the_retry_budget_surface(simulator: Start) -> None:
    sim = simulator()
    sim.queue_faults(500, 5)
    with sim.client(max_retries=2) as client:
        with pytest.raises(ServerError) as raised:
            client.get_order(1)
    assert raised.value.status == 500
    stats = sim.stats()
    assert stats["by_status"] == {"500": 3} and stats["faults_pending"] == 2


# -- rate limiting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One server window as seen from the headers: it opened while its first request was in flight."""

    opened_by: Exchange
    exchanges: list[Exchange]

    @property
    def latest_end(self) -> float:
        """The window cannot close later than this (it opened before the first answer arrived)."""
        return self.opened_by.received + WINDOW


def windows(exchanges: list[Exchange]) -> list[Window]:
    """Group exchanges by server window: the first request of a window leaves `limit - 1` remaining."""
    found: list[Window] = []
    for exchange in exchanges:
        assert exchange.headers["X-Rate-Limit-Limit"] == str(LIMIT)
        if exchange.status == 200 and int(exchange.headers["X-Rate-Limit-Remaining"]) == LIMIT - 1:
            found.append(Window(exchange, []))
        found[-1].exchanges.append(exchange)
    return found


def test_pacing_spends_each_window_without_ever_meeting_a_429(simulator: Start, merchant: Merchant) -> None:
    sim = simulator(rate_limit=LIMIT, window_seconds=WINDOW)
    tap = Tap()
    started = time.monotonic()
    with sim.client(tap, real_sleep=True) as client:
        got = list(client.iter_orders(by_modify_date(merchant)[0]["modifyDate"], page_size=5))
    elapsed = time.monotonic() - started

    assert Counter(o.order_id for o in got) == Counter(o["orderId"] for o in merchant.orders)
    stats = sim.stats()
    assert stats["throttled"] == 0 and set(stats["by_status"]) == {"200"}
    assert stats["requests"] == len(tap.exchanges) >= 3 * LIMIT
    seen = windows(tap.exchanges)
    assert len(seen) >= 3 and elapsed >= 2 * WINDOW
    assert all(len(w.exchanges) <= LIMIT for w in seen)
    spent = [(w, nxt) for w, nxt in zip(seen, seen[1:], strict=False)
             if w.exchanges[-1].headers["X-Rate-Limit-Remaining"] == "0"]
    assert len(spent) >= 2  # windows really ran dry, so the check below is not vacuous
    for window, following in spent:
        # Nothing was sent between learning the window was spent and the window's end.
        assert following.opened_by.sent >= window.latest_end, (window.exchanges[-1].received, following.opened_by.sent)


def test_budget_spent_by_another_tool_costs_one_429_then_waits_for_reset(simulator: Start, merchant: Merchant) -> None:
    order = merchant.orders[0]
    sim = simulator(rate_limit=LIMIT, window_seconds=WINDOW)
    other = Tap()
    with httpx.Client(base_url=sim.url, auth=(KEY, SECRET), transport=other) as raw:
        for _ in range(LIMIT):
            assert raw.get("/orders", params={"pageSize": 1}).status_code == 200
    assert other.exchanges[-1].headers["X-Rate-Limit-Remaining"] == "0"
    ours = Tap()
    with sim.client(ours, real_sleep=True) as client:
        got = client.get_order(order["orderId"])

    assert_same_order(got, order)
    assert [e.status for e in ours.exchanges] == [429, 200]
    stats = sim.stats()
    assert stats["throttled"] == 1 and stats["by_status"] == {"200": LIMIT + 1, "429": 1}
    window_end = other.exchanges[0].received + WINDOW
    assert ours.exchanges[1].sent >= window_end
    assert ours.exchanges[1].headers["X-Rate-Limit-Remaining"] == str(LIMIT - 1)  # a fresh window
