"""ShipStationClient against an in-process fake of V1 (httpx.MockTransport), with a fake clock.

These are unit tests of our client; the contract tests against the sandbox simulator live elsewhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from connectors.common.errors import AuthError, BadRequest, NotFound, RecordError, ServerError
from connectors.shipstation.auth import ShipStationAuth, basic_token
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from tests.unit.fakes import FakeClock
from tests.unit.test_shipstation_models import sample_order

LA = ZoneInfo("America/Los_Angeles")
KEY, SECRET = "ShipStation", "Rocks"


def _pacific(text: str) -> datetime:
    return datetime.fromisoformat(text[:26]).replace(tzinfo=LA)


class FakeShipStation:
    """Just enough of V1 /orders: Pacific filters, ModifyDate sort, paging, a fixed-window rate limit."""

    def __init__(
        self,
        clock: FakeClock,
        orders: list[dict[str, Any]] = (),
        *,
        limit: int = 40,
        remaining: int | None = None,
        window: float = 60.0,
    ) -> None:
        self.clock, self.orders, self.limit, self.window = clock, list(orders), limit, window
        self.used = limit - (limit if remaining is None else remaining)
        self.window_end = clock() + window
        self.requests: list[tuple[float, httpx.Request]] = []
        self.script: list[httpx.Response | Exception] = []  # served (in order) before the fake API
        self.after_request: Callable[[int], None] = lambda n: None
        self.saw_429 = 0

    def rate_headers(self) -> dict[str, str]:
        reset = max(0, math.ceil(self.window_end - self.clock()))
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.limit - self.used),
            "X-Rate-Limit-Reset": str(reset),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        self.requests.append((now, request))
        if now >= self.window_end:
            self.used, self.window_end = 0, now + self.window
        if self.used >= self.limit:
            self.saw_429 += 1
            return httpx.Response(429, json={"message": "Too Many Requests"}, headers=self.rate_headers())
        self.used += 1
        try:
            if self.script:
                scripted = self.script.pop(0)
                if isinstance(scripted, Exception):
                    raise scripted
                scripted.headers.update(self.rate_headers())
                return scripted
            return httpx.Response(200, content=json.dumps(self.route(request)), headers=self.rate_headers())
        finally:
            self.after_request(len(self.requests))

    def route(self, request: httpx.Request) -> Any:
        path, params = request.url.path, request.url.params
        if path.startswith("/orders/"):
            return next(o for o in self.orders if str(o["orderId"]) == path.rsplit("/", 1)[1])
        rows = self.orders
        if "modifyDateStart" in params:
            start = datetime.strptime(params["modifyDateStart"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=LA)
            rows = [o for o in rows if _pacific(o["modifyDate"]) >= start]
        rows = sorted(
            rows, key=lambda o: (_pacific(o["modifyDate"]), o["orderId"]), reverse=params.get("sortDir") == "DESC"
        )
        size, page = int(params.get("pageSize", 100)), int(params.get("page", 1))
        return {
            "orders": rows[(page - 1) * size : page * size],
            "total": len(rows),
            "page": page,
            "pages": math.ceil(len(rows) / size),
        }

    def params(self) -> list[dict[str, str]]:
        return [dict(request.url.params) for _, request in self.requests]


def make_order(order_id: int, modify: str) -> dict[str, Any]:
    """The §8.1 order as plain JSON values (floats print as the API's digits: 41.55, -3.75)."""
    order = sample_order(orderId=order_id, orderNumber=f"WM-{order_id}", modifyDate=modify)
    return json.loads(json.dumps(order, default=float))


def orders_at_seconds(count: int) -> list[dict[str, Any]]:
    return [make_order(i, f"2024-11-04T08:00:{i:02d}.1000000") for i in range(1, count + 1)]


def make_client(api: FakeShipStation, clock: FakeClock, **kwargs: Any) -> ShipStationClient:
    kwargs.setdefault("rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    return ShipStationClient(
        api_key=KEY,
        api_secret=SECRET,
        base_url="https://ssapi.test",
        transport=httpx.MockTransport(api),
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 0.5,
        **kwargs,
    )


START = datetime(2024, 11, 4, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_auth_header_is_the_documented_one(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(1))
    make_client(api, clock).ping()
    assert api.requests[0][1].headers["Authorization"] == "Basic U2hpcFN0YXRpb246Um9ja3M="
    assert "\n" not in basic_token("k" * 100, "s" * 100)


def test_follows_pages_and_streams_them_one_at_a_time(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(7))
    pages = make_client(api, clock).iter_order_pages(START, page_size=3)
    first = next(pages)
    assert [o.order_id for o in first] == [1, 2, 3] and len(api.requests) == 1  # lazy
    rest = [o.order_id for page in pages for o in page]
    assert rest == [4, 5, 6, 7]
    assert [p["page"] for p in api.params()] == ["1"] * len(api.requests)  # restarts from last modifyDate


def test_pages_zero_with_total_two_is_one_request(clock: FakeClock) -> None:
    api = FakeShipStation(clock)
    api.script.append(
        httpx.Response(
            200,
            json={
                "orders": [make_order(1, "2024-11-04T08:00:01.0"), make_order(2, "2024-11-04T08:00:02.0")],
                "total": 2,
                "page": 1,
                "pages": 0,
            },
        )
    )
    assert [o.order_id for o in make_client(api, clock).iter_orders(START)] == [1, 2]
    assert len(api.requests) == 1


def test_an_empty_page_ends_the_scan(clock: FakeClock) -> None:
    api = FakeShipStation(clock)
    api.script += [
        httpx.Response(
            200, json={"orders": [make_order(1, "2024-11-04T08:00:01.0")], "total": 9, "page": 1, "pages": 9}
        ),
        httpx.Response(200, json={"orders": [], "total": 9, "page": 1, "pages": 9}),
    ]
    assert [o.order_id for o in make_client(api, clock).iter_orders(START)] == [1]
    assert len(api.requests) == 2


def test_page_numbers_within_one_second(clock: FakeClock) -> None:
    api = FakeShipStation(clock, [make_order(i, f"2024-11-04T08:00:00.{i:07d}") for i in range(1, 6)])
    ids = [o.order_id for o in make_client(api, clock).iter_orders(START, page_size=2)]
    assert ids == [1, 2, 3, 4, 5]
    # the first restart lands on the same second (all five share it), so page numbers take over
    assert [p["page"] for p in api.params()] == ["1", "1", "2", "3"]
    assert len({p["modifyDateStart"] for p in api.params()[1:]}) == 1


def test_orders_edited_mid_scan_are_neither_skipped_nor_repeated(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(7))

    def edit_order_2(request_number: int) -> None:
        if request_number == 1:  # plain page numbers would now skip order 4
            api.orders[1]["modifyDate"] = "2024-11-04T08:10:00.0000000"

    api.after_request = edit_order_2
    seen = [(o.order_id, o.modify_date) for o in make_client(api, clock).iter_orders(START, page_size=3)]
    assert sorted({order_id for order_id, _ in seen}) == [1, 2, 3, 4, 5, 6, 7]
    assert len(seen) == len(set(seen)) == 8  # order 2 twice: old and new version
    assert seen[-1] == (2, datetime(2024, 11, 4, 16, 10, tzinfo=UTC))


def test_filters_are_pacific_wall_time(clock: FakeClock) -> None:
    api = FakeShipStation(clock, [])
    start = datetime(2024, 7, 1, 19, 0, 30, 999999, tzinfo=UTC)  # PDT
    end = datetime(2024, 12, 1, 20, 0, tzinfo=UTC)  # PST
    list(make_client(api, clock).iter_order_pages(start, end))
    assert api.params()[0] == {
        "modifyDateStart": "2024-07-01 12:00:30",
        "modifyDateEnd": "2024-12-01 12:00:00",
        "sortBy": "ModifyDate",
        "sortDir": "ASC",
        "page": "1",
        "pageSize": "500",
    }


def test_naive_datetimes_are_refused_before_any_request(clock: FakeClock) -> None:
    api = FakeShipStation(clock, [])
    with pytest.raises(ValueError, match="timezone-aware"):
        list(make_client(api, clock).iter_order_pages(datetime(2024, 1, 1)))
    assert api.requests == []


def test_money_is_exact_decimal(clock: FakeClock) -> None:
    api = FakeShipStation(clock, [make_order(512340871, "2024-11-04T08:02:11.1030000")])
    (page,) = list(make_client(api, clock).iter_order_pages_raw(START))
    assert page[0]["orderTotal"] == Decimal("41.55") and isinstance(page[0]["orderTotal"], Decimal)
    order = make_client(api, clock).get_order(512340871)
    assert [i.unit_price for i in order.items] == [Decimal("12.5"), Decimal("-3.75")]
    assert order.order_total == Decimal("41.55") and order.raw["orderTotal"] == Decimal("41.55")


def test_limiter_waits_before_the_window_is_spent(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(9), limit=40, remaining=4)  # other tools used 36
    client = make_client(api, clock)
    assert len(list(client.iter_orders(START, page_size=2))) == 9
    assert api.saw_429 == 0
    times = [t for t, _ in api.requests]
    # two calls fit (4 left, reserve 2); then silence until the window resets, plus a second.
    assert times[:2] == [1000.0, 1000.0] and times[2] >= 1061.0
    assert not [t for t in times if 1000.0 < t < 1060.0]
    assert client.rate_limiter.limit == 40


def test_429_waits_for_the_reset_then_succeeds(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(1), limit=60, remaining=0, window=20.0)
    orders = list(make_client(api, clock).iter_orders(START))
    assert [o.order_id for o in orders] == [1]
    (first, _), (second, _) = api.requests
    assert api.saw_429 == 1 and second - first >= 21.0  # Reset (20 s) + 1 s
    assert clock.sleeps == [21.0]


def test_5xx_is_retried_with_backoff_then_succeeds(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(1))
    api.script += [httpx.Response(503, text="busy"), httpx.Response(502, text="bad gateway"), httpx.ReadTimeout("slow")]
    assert make_client(api, clock).get_order(1).order_id == 1
    assert len(api.requests) == 4
    assert clock.sleeps == [0.75, 1.5, 3.0]  # base 1 s doubling, jitter fixed at ½


def test_5xx_gives_up_after_max_retries(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(1))
    api.script += [httpx.Response(500, text="oops") for _ in range(5)]
    with pytest.raises(ServerError) as caught:
        make_client(api, clock, max_retries=2).get_order(1)
    assert caught.value.status == 500 and len(api.requests) == 3


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (400, {"Message": "The request is invalid."}, BadRequest),
        (401, {"Message": "Unauthorized"}, AuthError),
        (403, {}, AuthError),
        (404, {"Message": "Not found"}, NotFound),
    ],
)
def test_4xx_is_not_retried(clock: FakeClock, status: int, body: dict[str, str], error_type: type) -> None:
    api = FakeShipStation(clock, orders_at_seconds(1))
    api.script.append(httpx.Response(status, json=body))
    with pytest.raises(error_type) as caught:
        make_client(api, clock).get_order(1)
    assert len(api.requests) == 1 and clock.sleeps == []
    assert caught.value.status == status and caught.value.system == "shipstation"
    if body:
        assert body["Message"] in str(caught.value)


def test_a_bad_field_names_the_order_and_field(clock: FakeClock) -> None:
    bad = make_order(77, "2024-11-04T08:00:01.0")
    bad["items"][0]["quantity"] = "three"
    api = FakeShipStation(clock, [bad])
    with pytest.raises(RecordError) as caught:
        list(make_client(api, clock).iter_orders(START))
    assert caught.value.record_id == "orderId=77 orderNumber=WM-77"
    assert caught.value.field == "items.0.quantity"
    assert "orderId=77" in str(caught.value) and "items.0.quantity" in str(caught.value)


def test_latest_modify_date(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(3))
    client = make_client(api, clock)
    assert client.latest_modify_date(START) == datetime(2024, 11, 4, 16, 0, 3, 100000, tzinfo=UTC)
    assert api.params()[0] == {
        "modifyDateStart": "2024-11-03 16:00:00",
        "sortBy": "ModifyDate",
        "sortDir": "DESC",
        "page": "1",
        "pageSize": "1",
    }
    assert client.latest_modify_date(datetime(2025, 1, 1, tzinfo=UTC)) is None


def test_products_and_customers_use_page_numbers(clock: FakeClock) -> None:
    api = FakeShipStation(clock)
    api.script += [
        httpx.Response(
            200, json={"products": [{"productId": 1, "sku": "A", "price": 1.5}], "total": 2, "page": 1, "pages": 2}
        ),
        httpx.Response(200, json={"products": [{"productId": 2, "sku": "B"}], "total": 2, "page": 2, "pages": 2}),
        httpx.Response(
            200, json={"customers": [{"customerId": 5, "name": " Ann "}], "total": 1, "page": 1, "pages": 1}
        ),
    ]
    client = make_client(api, clock)
    products = list(client.iter_products())
    assert [(p.sku, p.price) for p in products] == [("A", Decimal("1.5")), ("B", None)]
    assert [c.name for c in client.iter_customers()] == ["Ann"]
    assert [(r.url.path, r.url.params.get("page")) for _, r in api.requests] == [
        ("/products", "1"),
        ("/products", "2"),
        ("/customers", "1"),
    ]
    assert api.params()[0]["showInactive"] == "false"


def test_ping(clock: FakeClock) -> None:
    api = FakeShipStation(clock, orders_at_seconds(2))
    result = make_client(api, clock).ping()
    assert result["ok"] is True and result["orders_total"] == 2 and result["rate_limit"]["limit"] == 40
    api.script.append(httpx.Response(401, text="Unauthorized"))
    failed = make_client(api, clock).ping()
    assert failed["ok"] is False and failed["status"] == 401 and failed["error"] == "AuthError"


def test_secrets_never_show(clock: FakeClock) -> None:
    key, secret = "key-9f8e7d6c5b4a", "secret-0a1b2c3d4e5f"
    token = basic_token(key, secret)
    api = FakeShipStation(clock)
    api.script.append(httpx.Response(401, text=f"bad credentials {key}:{secret} / Basic {token}"))
    api.script.append(httpx.ConnectError(f"proxy refused {secret}"))
    client = ShipStationClient(
        api_key=SecretStr(key),
        api_secret=secret,
        base_url="https://ssapi.test",
        transport=httpx.MockTransport(api),
        sleep=clock.sleep,
        clock=clock,
        max_retries=0,
    )
    texts = [repr(client), str(client), repr(ShipStationAuth(key, secret)), repr(client.rate_limiter)]
    with pytest.raises(AuthError) as auth_error:
        client.get_order(1)
    texts += [str(auth_error.value), repr(auth_error.value), auth_error.value.excerpt or ""]
    texts.append(client.ping()["message"])
    for text in texts:
        assert key not in text and secret not in text and token not in text, text
    assert "***" in str(auth_error.value)


def test_missing_credentials_fail_fast() -> None:
    with pytest.raises(AuthError, match="required"):
        ShipStationClient(api_key="", api_secret="x")


def test_shared_limiter_per_key_pair(clock: FakeClock) -> None:
    api = FakeShipStation(clock)
    one = ShipStationClient(
        api_key="k1", api_secret="s1", transport=httpx.MockTransport(api), clock=clock, sleep=clock.sleep
    )
    two = ShipStationClient(
        api_key="k1", api_secret="s1", transport=httpx.MockTransport(api), clock=clock, sleep=clock.sleep
    )
    other = ShipStationClient(
        api_key="k2", api_secret="s1", transport=httpx.MockTransport(api), clock=clock, sleep=clock.sleep
    )
    assert one.rate_limiter is two.rate_limiter and other.rate_limiter is not one.rate_limiter
    with one, two, other:
        pass
