"""The common rate limiters on their own, with hand-built responses and a fake clock."""

from __future__ import annotations

import httpx
import pytest

from connectors.common.http import BaseClient
from connectors.common.ratelimit import (
    HeaderWindowLimiter,
    PerEndpointBuckets,
    SlidingWindow,
    TokenBucket,
    endpoint_key,
    seconds_until,
    shared_limiter,
)
from connectors.common.retry import RetryPolicy
from tests.unit.fakes import FakeClock

WALL = 1_700_000_000.0


def request(method: str = "GET", path: str = "/v3/orders") -> httpx.Request:
    return httpx.Request(method, f"https://api.test{path}")


def response(status: int = 200, headers: dict[str, str] | None = None, req: httpx.Request | None = None):
    return httpx.Response(status, headers=headers or {}, request=req or request())


# -- header window --------------------------------------------------------------------------------------


def test_header_window_reads_configurable_header_names() -> None:
    clock = FakeClock()
    limiter = HeaderWindowLimiter(limit_header="RateLimit-Limit", remaining_header="RateLimit-Remaining",
                                  reset_header="RateLimit-Reset", reserve=0, padding=0.5, clock=clock,
                                  sleep=clock.sleep)
    limiter.after_response(response(headers={"RateLimit-Limit": "10", "RateLimit-Remaining": "1",
                                             "RateLimit-Reset": "7"}))
    limiter.before_request()
    assert clock.sleeps == [] and limiter.remaining == 0
    limiter.before_request()
    assert clock.sleeps == [7.5]


def test_header_window_429_prefers_retry_after() -> None:
    clock = FakeClock()
    limiter = HeaderWindowLimiter(padding=1.0, clock=clock, sleep=clock.sleep)
    limiter.after_response(response(429, {"Retry-After": "20", "X-Rate-Limit-Reset": "5"}))
    assert limiter.wait_time() == 21.0


# -- token bucket and sliding window ---------------------------------------------------------------------


def test_token_bucket_bursts_to_capacity_then_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, 60.0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        bucket.before_request()
    assert clock.sleeps == []
    bucket.before_request()
    assert clock.sleeps == [pytest.approx(0.6)]  # one token every 60/100 s
    clock.sleep(6.0)
    assert bucket.wait_time() == 0 and bucket.tokens == pytest.approx(10.0)


def test_token_bucket_capacity_limits_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(200, 60.0, capacity=2, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.before_request()
    assert clock.sleeps == [pytest.approx(0.3)]


@pytest.mark.parametrize("pacer_kind", ["bucket", "window"])
def test_a_429_holds_every_request_until_retry_after(pacer_kind: str) -> None:
    clock = FakeClock()
    pacer = (TokenBucket(100, 60.0, clock=clock, sleep=clock.sleep) if pacer_kind == "bucket"
             else SlidingWindow(100, 60.0, clock=clock, sleep=clock.sleep))
    pacer.after_response(response(429, {"Retry-After": "30"}))
    pacer.before_request()
    assert clock.sleeps == [30.0]
    pacer.after_response(response(429))  # no Retry-After: the default
    assert pacer.wait_time() == 60.0


def test_sliding_window_allows_limit_in_any_span() -> None:
    clock = FakeClock()
    window = SlidingWindow(3, 10.0, padding=1.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        window.before_request()
    clock.sleep(5.0)
    window.before_request()
    assert clock.sleeps == [5.0, 6.0]  # the 4th waits until the first leaves the 11 s span


# -- per endpoint ----------------------------------------------------------------------------------------


def buckets(clock: FakeClock, default=None) -> PerEndpointBuckets:
    return PerEndpointBuckets(default, clock=clock, wall=lambda: WALL, sleep=clock.sleep)


def test_endpoint_key_folds_numeric_ids() -> None:
    assert endpoint_key(request("POST", "/v3/orders/1234567/acknowledge")) == "POST /v3/orders/{id}/acknowledge"
    assert endpoint_key(request()) == "GET /v3/orders"


@pytest.mark.parametrize(("value", "seconds"), [
    (str(int((WALL + 12) * 1000)), 12.0), (str(int(WALL + 5)), 5.0), ("3", 3.0),
    ("Tue, 14 Nov 2023 22:13:40 GMT", 20.0), ("2023-11-14T22:13:30+00:00", 10.0), ("soon", None), (None, None),
])
def test_replenish_time_formats(value: str | None, seconds: float | None) -> None:
    assert seconds_until(value, lambda: WALL) == (pytest.approx(seconds) if seconds is not None else None)


def test_each_endpoint_waits_for_its_own_refill() -> None:
    clock = FakeClock()
    pacer = buckets(clock)
    orders, ship = request(), request("POST", "/v3/orders/77/shipping")
    pacer.after_response(response(headers={"x-current-token-count": "1",
                                           "x-next-replenish-time": str(int((WALL + 9) * 1000))}, req=orders))
    pacer.before_request(orders)
    pacer.before_request(ship)  # another endpoint, nothing known: no wait
    assert clock.sleeps == []
    pacer.before_request(orders)
    assert clock.sleeps == [pytest.approx(9.0)]
    assert pacer.budget("GET /v3/orders") == (None, None)  # refilled: unknown until the next response


def test_a_429_blocks_only_that_endpoint() -> None:
    clock = FakeClock()
    pacer = buckets(clock)
    ship = request("POST", "/v3/orders/77/shipping")
    pacer.after_response(response(429, {"X-Next-Replenishment-Time": "15"}, req=ship))
    pacer.before_request(request())
    assert clock.sleeps == []
    pacer.before_request(request("POST", "/v3/orders/78/shipping"))
    assert clock.sleeps == [15.0]


def test_unknown_endpoints_fall_back_to_the_default_bucket() -> None:
    clock = FakeClock()
    default = TokenBucket(1, 2.0, clock=clock, sleep=clock.sleep)
    pacer = buckets(clock, default)
    pacer.before_request(request())
    pacer.before_request(request("GET", "/v3/items"))
    assert clock.sleeps == [2.0]
    pacer.after_response(response(headers={"x-current-token-count": "50"}))
    pacer.before_request(request())
    assert clock.sleeps == [2.0] and pacer.budget("GET /v3/orders")[0] == 49


# -- registry and client wiring --------------------------------------------------------------------------


def test_one_shared_limiter_per_kind_key_and_host() -> None:
    made = []

    def factory() -> TokenBucket:
        made.append(1)
        return TokenBucket(10)

    first = shared_limiter("zoho", "fp-1", "https://www.zohoapis.com/", factory)
    assert shared_limiter("zoho", "fp-1", "https://WWW.zohoapis.com", factory) is first
    assert shared_limiter("zoho", "fp-2", "https://www.zohoapis.com", factory) is not first
    assert shared_limiter("zoho", "fp-1", "https://www.zohoapis.eu", factory) is not first
    assert shared_limiter("walmart", "fp-1", "https://www.zohoapis.com", factory) is not first
    assert len(made) == 4


def test_base_client_hands_the_request_to_the_pacer() -> None:
    clock = FakeClock()
    pacer = buckets(clock)
    calls = iter([response(429, {"Retry-After": "1", "x-next-replenish-time": "100"}), response(200)])
    client = BaseClient(base_url="https://api.test", auth=None, timeout=5, pacer=pacer, sleep=clock.sleep,
                        transport=httpx.MockTransport(lambda r: next(calls)), retry=RetryPolicy(2, 0.0, 0.0),
                        rng=lambda: 0.0)
    client.get_json("/v3/orders/5")
    assert clock.sleeps == [1.0, 99.0]  # the retry's Retry-After, then the endpoint's refill
    assert pacer.budget("GET /v3/orders/{id}") == (None, None)


def test_base_client_close_closes_its_auth() -> None:
    class Closing(httpx.Auth):
        closed = False

        def close(self) -> None:
            self.closed = True

    auth = Closing()
    BaseClient(base_url="https://api.test", auth=auth, timeout=5).close()
    assert auth.closed
