"""ShipStationV2Client and its models against an in-process fake (httpx.MockTransport), with a fake clock.

Contract tests against the V2 simulator over real HTTP live in tests/contract/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from connectors.common.auth import ApiKeyAuth
from connectors.common.errors import (
    AuthError,
    BadRequest,
    ConnectorError,
    NotFound,
    RateLimited,
    RecordError,
    ServerError,
)
from connectors.common.ratelimit import SlidingWindow
from connectors.shipstation.v2 import ShipStationV2Client, default_pacer, shared_pacer
from connectors.shipstation.v2_models import InventoryLevel, InventoryTransaction, InventoryWarehouse, Money
from tests.unit.fakes import FakeClock

KEY = "v2-key-5d4c3b2a1f0e"
BASE = "https://api.shipstation.test"


def v2_error(code: str, message: str, error_type: str = "validation") -> dict[str, Any]:
    return {"request_id": "0f4e7c1a-0000-4000-8000-000000000001",
            "errors": [{"error_source": "shipstation", "error_type": error_type, "error_code": code,
                        "message": message}]}


def level(sku: str, on_hand: int = 5, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "on_hand": on_hand, "allocated": 1, "available": on_hand - 1,
            "average_cost": {"amount": 4.5, "currency": "usd"}, "inventory_warehouse_id": "se-1",
            "inventory_location_id": "se-2"} | extra


def envelope(key: str, rows: list[dict[str, Any]], page: int, pages: int, next_href: str | None) -> dict[str, Any]:
    return {key: rows, "total": 99, "page": page, "pages": pages,
            "links": {"first": {"href": "x"}, "last": {"href": "y"}, "prev": {},
                      "next": {"href": next_href} if next_href else {}}}


class FakeV2:
    """Answers scripted responses in order, then 204/200 empty; records every request."""

    def __init__(self, *script: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.script:
            return httpx.Response(204 if request.method == "POST" else 200, json=None if request.method == "POST"
                                  else {"inventory": [], "inventory_warehouses": [], "total": 0, "page": 1, "pages": 0})
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(api: FakeV2, clock: FakeClock, **options: Any) -> ShipStationV2Client:
    options.setdefault("pacer", default_pacer(clock=clock, sleep=clock.sleep))
    return ShipStationV2Client(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(api), sleep=clock.sleep,
                               clock=clock, rng=lambda: 0.5, **options)


# -- requests and pagination -------------------------------------------------------------------------


def test_sends_the_api_key_header_and_filters(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(200, json=envelope("inventory", [level("TEA")], 1, 1, None)))
    got = list(make_client(api, clock).iter_inventory(sku="TEA", location_id="se-2", page_size=50))
    request = api.requests[0]
    assert request.headers["API-Key"] == KEY and "authorization" not in request.headers
    assert dict(request.url.params) == {"sku": "TEA", "inventory_location_id": "se-2", "limit": "50"}
    assert request.url.path == "/v2/inventory"
    assert [g.sku for g in got] == ["TEA"]


def test_follows_next_links_but_only_on_our_own_host(clock: FakeClock) -> None:
    api = FakeV2(
        httpx.Response(200, json=envelope("inventory", [level("A"), level("B")], 1, 3,
                                          "https://evil.example/v2/inventory?limit=2&page=2")),
        httpx.Response(200, json=envelope("inventory", [level("C"), level("D")], 2, 3, "/v2/inventory?limit=2&page=3")),
        httpx.Response(200, json=envelope("inventory", [level("E")], 3, 3, None)),
    )
    got = [g.sku for g in make_client(api, clock).iter_inventory(page_size=2)]
    assert got == ["A", "B", "C", "D", "E"]
    assert api.urls() == [f"{BASE}/v2/inventory?limit=2", f"{BASE}/v2/inventory?limit=2&page=2",
                          f"{BASE}/v2/inventory?limit=2&page=3"]
    assert all(r.headers["API-Key"] == KEY for r in api.requests)


def test_without_links_pages_by_number_and_stops_on_an_empty_page(clock: FakeClock) -> None:
    api = FakeV2(
        httpx.Response(200, json={"inventory": [level("A")], "page": 1, "pages": 5}),
        httpx.Response(200, json={"inventory": [level("B")], "page": 2, "pages": 5, "links": None}),
        httpx.Response(200, json={"inventory": [], "page": 3, "pages": 5}),
    )
    assert [g.sku for g in make_client(api, clock).iter_inventory(page_size=1)] == ["A", "B"]
    assert [r.url.params.get("page") for r in api.requests] == [None, "2", "3"]


def test_a_looping_next_link_is_a_server_error(clock: FakeClock) -> None:
    loop = envelope("inventory", [level("A")], 2, 9, "/v2/inventory?limit=1&page=2")
    api = FakeV2(*[httpx.Response(200, json=loop) for _ in range(3)])
    with pytest.raises(ServerError, match="loops"):
        list(make_client(api, clock).iter_inventory(page_size=1))


def test_warehouses_and_locations(clock: FakeClock) -> None:
    api = FakeV2(
        httpx.Response(200, json=envelope("inventory_warehouses", [
            {"inventory_warehouse_id": "se-1", "name": "Main", "created_at": "2026-03-01T10:00:00.000Z",
             "updated_at": "2026-03-01T10:00:00Z"}], 1, 1, None)),
        httpx.Response(200, json=envelope("inventory_locations", [
            {"inventory_location_id": "se-2", "inventory_warehouse_id": "se-1", "name": "A-1", "extra": 1}], 1, 1,
            None)),
    )
    client = make_client(api, clock)
    (warehouse,) = client.list_inventory_warehouses()
    (location,) = client.list_inventory_locations()
    assert warehouse.created_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert (location.inventory_location_id, location.inventory_warehouse_id, location.name) == ("se-2", "se-1", "A-1")
    assert [r.url.path for r in api.requests] == ["/v2/inventory_warehouses", "/v2/inventory_locations"]


def test_adjust_posts_an_absolute_quantity(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(204))
    make_client(api, clock).adjust("TEA", 7, "se-2", reason="Tally stock count", cost=Money(amount="4.50",
                                                                                          currency="INR"))
    request = api.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v2/inventory")
    assert json.loads(request.content) == {"transaction_type": "adjust", "sku": "TEA", "quantity": 7,
                                           "inventory_location_id": "se-2", "reason": "Tally stock count",
                                           "cost": {"amount": 4.5, "currency": "inr"}}


def test_modify_sends_only_the_changes(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(204))
    make_client(api, clock).modify("TEA", 2, "se-2", new_condition="damaged", condition="sellable")
    assert json.loads(api.requests[0].content) == {
        "transaction_type": "modify", "sku": "TEA", "quantity": 2, "inventory_location_id": "se-2",
        "condition": "sellable", "new_condition": "damaged"}


# -- errors and retries --------------------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(429, headers={"Retry-After": "17"}, json=v2_error("rate_limit_exceeded",
                                                                                  "You have exceeded the rate limit.",
                                                                                  "system")),
                 httpx.Response(204))
    start = clock()
    make_client(api, clock).adjust("TEA", 1, "se-2")
    assert len(api.requests) == 2
    assert clock.sleeps[0] >= 17 and clock() - start >= 17


def test_429_without_retry_after_waits_a_whole_minute(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(429), httpx.Response(200, json=envelope("inventory", [], 1, 0, None)))
    list(make_client(api, clock).iter_inventory())
    assert clock.sleeps[0] >= 60


def test_429_is_retried_even_for_increment_but_5xx_is_not(clock: FakeClock) -> None:
    tx = InventoryTransaction(transaction_type="increment", sku="TEA", quantity=1, inventory_location_id="se-2")
    api = FakeV2(httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(204))
    make_client(api, clock).post_transaction(tx)
    assert len(api.requests) == 2
    api = FakeV2(httpx.Response(500, json=v2_error("unspecified", "boom", "system")), httpx.Response(204))
    with pytest.raises(ServerError, match="increment sku 'TEA' at location 'se-2': unspecified: boom"):
        make_client(api, clock).post_transaction(tx)
    assert len(api.requests) == 1


def test_adjust_is_retried_after_5xx_and_timeouts(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(503, text="<html>busy</html>"), httpx.ReadTimeout("slow"), httpx.Response(204))
    make_client(api, clock).adjust("TEA", 3, "se-2")
    assert len(api.requests) == 3 and len(clock.sleeps) == 2


def test_5xx_gives_up_after_max_retries(clock: FakeClock) -> None:
    api = FakeV2(*[httpx.Response(502) for _ in range(5)])
    with pytest.raises(ServerError) as raised:
        list(make_client(api, clock, max_retries=2).iter_inventory())
    assert raised.value.status == 502 and len(api.requests) == 3


@pytest.mark.parametrize(("status", "kind"), [(400, BadRequest), (401, AuthError), (403, AuthError),
                                              (404, NotFound), (422, BadRequest)])
def test_4xx_is_fatal_with_the_v2_message_and_the_sku(clock: FakeClock, status: int, kind: type) -> None:
    api = FakeV2(httpx.Response(status, json=v2_error("invalid_field_value", "quantity is not valid")))
    with pytest.raises(kind) as raised:
        make_client(api, clock).adjust("TEA-250", 3, "se-2")
    text = str(raised.value)
    assert "adjust sku 'TEA-250' at location 'se-2'" in text and "invalid_field_value: quantity is not valid" in text
    assert "request_id 0f4e7c1a" in text and raised.value.status == status
    assert len(api.requests) == 1 and clock.sleeps == []


def test_a_2xx_with_errors_is_an_error(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(200, json={"inventory": [level("A")]} | v2_error("invalid_identifier", "bad sku")))
    with pytest.raises(BadRequest, match="invalid_identifier: bad sku") as raised:
        list(make_client(api, clock).iter_inventory())
    assert raised.value.status == 200 and len(api.requests) == 1
    ok = FakeV2(httpx.Response(200, json={"inventory": [level("A")], "errors": []}))
    assert [g.sku for g in make_client(ok, clock).iter_inventory()] == ["A"]


def test_a_2xx_that_is_not_json_is_retried_then_a_server_error(clock: FakeClock) -> None:
    api = FakeV2(*[httpx.Response(200, text="<html>") for _ in range(2)])
    with pytest.raises(ServerError, match="not JSON"):
        list(make_client(api, clock, max_retries=1).iter_inventory())


def test_ping(clock: FakeClock) -> None:
    ok = make_client(FakeV2(httpx.Response(200, json=envelope("inventory_warehouses", [], 1, 1, None))), clock).ping()
    assert ok["ok"] is True and ok["inventory_warehouses_total"] == 99
    failed = make_client(FakeV2(httpx.Response(401, json=v2_error("unauthorized", "Access denied.", "security"))),
                         clock).ping()
    assert failed["ok"] is False and failed["status"] == 401 and failed["error"] == "AuthError"
    assert "Access denied." in failed["message"]


# -- pacing -------------------------------------------------------------------------------------------


def test_pacer_allows_limit_per_window_then_waits(clock: FakeClock) -> None:
    pacer = SlidingWindow(3, 10.0, padding=1.0, clock=clock, sleep=clock.sleep)
    api = FakeV2()
    client = make_client(api, clock, pacer=pacer)
    for _ in range(4):
        list(client.iter_inventory())
    assert clock.sleeps == [11.0]  # the 4th waited for the 1st to leave the 11 s span
    assert [round(t, 1) for t in pacer.sent] == [1011.0]  # the first three have left the span


def test_pacer_holds_everything_until_retry_after(clock: FakeClock) -> None:
    pacer = default_pacer(clock=clock, sleep=clock.sleep)
    pacer.after_response(httpx.Response(429, headers={"Retry-After": "30"}))
    assert pacer.wait_time() == 30
    pacer.before_request()
    assert clock.sleeps == [30]


def test_shared_pacer_per_key(clock: FakeClock) -> None:
    one = ShipStationV2Client(api_key="k1", clock=clock, sleep=clock.sleep)
    two = ShipStationV2Client(api_key=SecretStr("k1"), clock=clock, sleep=clock.sleep)
    other = ShipStationV2Client(api_key="k2", clock=clock, sleep=clock.sleep)
    elsewhere = ShipStationV2Client(api_key="k1", base_url="http://127.0.0.1:9", clock=clock, sleep=clock.sleep)
    shared = shared_pacer(one.key_fingerprint, "https://api.shipstation.com", clock=clock, sleep=clock.sleep)
    assert one.pacer is two.pacer is shared
    assert other.pacer is not one.pacer and one.pacer.limit == 200
    assert elsewhere.pacer is not one.pacer  # another host (a sandbox) keeps its own budget
    for client in (one, two, other, elsewhere):
        client.close()


# -- secrets ------------------------------------------------------------------------------------------


def test_the_key_never_shows(clock: FakeClock) -> None:
    api = FakeV2(httpx.Response(401, json=v2_error("unauthorized", f"key {KEY} is not valid", "security")),
                 httpx.ConnectError(f"proxy refused API-Key: {KEY}"),
                 httpx.Response(400, text=f"echo {KEY}"),
                 httpx.Response(403, json=v2_error("forbidden", f"{KEY} lacks inventory", "security")))
    client = ShipStationV2Client(api_key=SecretStr(KEY), base_url=BASE, transport=httpx.MockTransport(api),
                                 sleep=clock.sleep, clock=clock, max_retries=0,
                                 pacer=default_pacer(clock=clock, sleep=clock.sleep))
    texts = [repr(client), str(client), repr(ApiKeyAuth("API-Key", KEY)), repr(client.pacer)]
    for _ in range(3):
        with pytest.raises(ConnectorError) as raised:
            client.adjust("TEA", 1, "se-2")
        texts += [str(raised.value), repr(raised.value), getattr(raised.value, "excerpt", None) or ""]
    texts.append(client.ping()["message"])
    for text in texts:
        assert KEY not in text, text
    assert "***" in texts[4]


def test_missing_key_fails_fast() -> None:
    with pytest.raises(AuthError, match="required"):
        ShipStationV2Client(api_key=" ")


# -- models -------------------------------------------------------------------------------------------


def test_level_model_normalises_at_the_boundary() -> None:
    raw = level("TEA", 5) | {"on_hand": Decimal("5.0"), "average_cost": {"amount": Decimal("4.10"), "currency": "inr"},
                             "future_field": True}
    parsed = InventoryLevel.from_raw(raw)
    assert parsed.on_hand == 5 and isinstance(parsed.on_hand, int)
    assert parsed.average_cost == Money(amount=Decimal("4.10"), currency="INR")
    for empty in (None, {}, {"amount": None, "currency": "usd"}):
        assert InventoryLevel.from_raw(level("TEA") | {"average_cost": empty}).average_cost is None
    derived = InventoryLevel.from_raw({"sku": "TEA", "on_hand": 4, "allocated": 6})
    assert derived.available == -2 and derived.inventory_location_id is None


@pytest.mark.parametrize(("change", "field"), [({"on_hand": Decimal("2.5")}, "on_hand"), ({"on_hand": None}, "on_hand"),
                                               ({"allocated": True}, "allocated"),
                                               ({"average_cost": {"amount": "x", "currency": "usd"}},
                                                "average_cost.amount")])
def test_a_bad_level_names_the_sku_and_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as raised:
        InventoryLevel.from_raw(level("TEA-9") | change)
    assert raised.value.record_id == "sku=TEA-9" and raised.value.field == field


def test_warehouse_needs_its_id() -> None:
    with pytest.raises(RecordError) as raised:
        InventoryWarehouse.from_raw({"name": "Main"})
    assert raised.value.field == "inventory_warehouse_id"


@pytest.mark.parametrize("fields", [
    {"transaction_type": "restock"},
    {"quantity": -1},
    {"quantity": 0, "transaction_type": "decrement"},
    {"sku": ""},
    {"transaction_type": "modify"},
    {"new_condition": "damaged"},
    {"condition": "soggy"},
])
def test_transactions_are_checked_before_sending(fields: dict[str, Any]) -> None:
    base = {"transaction_type": "adjust", "sku": "TEA", "quantity": 1, "inventory_location_id": "se-2"}
    with pytest.raises(ValidationError):
        InventoryTransaction(**(base | fields))


def test_transaction_payload_is_exact_json() -> None:
    tx = InventoryTransaction(transaction_type="modify", sku="TEA", quantity=2, inventory_location_id="se-2",
                              new_cost=Money(amount=Decimal("12.345"), currency="usd"),
                              effective_at=datetime(2026, 3, 1, 10, tzinfo=UTC))
    assert tx.payload() == {"transaction_type": "modify", "sku": "TEA", "quantity": 2, "inventory_location_id": "se-2",
                            "effective_at": "2026-03-01T10:00:00Z", "new_cost": {"amount": 12.345, "currency": "usd"}}
    assert json.dumps(tx.payload())
    with pytest.raises(ValueError, match="rounding"):
        Money(amount=Decimal("0.12345678901234567890"), currency="usd").payload()


def test_rate_limited_error_carries_retry_after(clock: FakeClock) -> None:
    api = FakeV2(*[httpx.Response(429, headers={"Retry-After": "2"}) for _ in range(2)])
    with pytest.raises(RateLimited) as raised:
        list(make_client(api, clock, max_retries=1).iter_inventory())
    assert raised.value.retry_after == 2 and "429" in str(raised.value)
