"""The header-driven rate limiter on its own, with a fake clock (§1.2, §6.9)."""

import httpx

from connectors.shipstation.ratelimit import RateLimiter, key_fingerprint, shared_limiter
from tests.unit.fakes import FakeClock


def headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(reset),
    }


def limiter(clock: FakeClock, reserve: int = 2) -> RateLimiter:
    return RateLimiter(reserve=reserve, padding=1.0, default_window=60.0, clock=clock, sleep=clock.sleep)


def test_unknown_budget_does_not_wait() -> None:
    clock = FakeClock()
    limiter(clock).before_request()
    assert clock.sleeps == []


def test_plenty_left_does_not_wait() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.observe(headers(40, 30, 20))
    pacer.before_request()
    assert clock.sleeps == [] and pacer.remaining == 29


def test_waits_for_the_reset_when_only_the_reserve_is_left() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.observe(headers(40, 2, 20))
    assert pacer.wait_time() == 21.0
    pacer.before_request()
    assert clock.sleeps == [21.0]
    assert pacer.remaining is None  # a fresh window: unknown until the next response


def test_local_count_stops_before_the_server_says_so() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.observe(headers(40, 4, 30))
    pacer.before_request()  # 3 left
    pacer.before_request()  # 2 left
    assert clock.sleeps == []
    pacer.before_request()
    assert clock.sleeps == [31.0]


def test_429_marks_the_window_spent() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.after_response(httpx.Response(429, headers=headers(40, 5, 12)))
    assert pacer.remaining == 0 and pacer.wait_time() == 13.0


def test_missing_reset_assumes_a_full_window() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.observe({"X-Rate-Limit-Remaining": "0"})
    assert pacer.wait_time() == 61.0


def test_the_limit_comes_from_the_header_not_the_docs() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.observe(headers(60, 59, 60))
    assert pacer.limit == 60


def test_tiny_limits_are_not_starved_by_the_reserve() -> None:
    clock = FakeClock()
    pacer = limiter(clock, reserve=2)
    pacer.observe(headers(5, 1, 30))
    pacer.before_request()
    assert clock.sleeps == []


def test_headerless_responses_change_nothing() -> None:
    clock = FakeClock()
    pacer = limiter(clock)
    pacer.observe(headers(40, 10, 30))
    pacer.observe({})
    assert (pacer.limit, pacer.remaining) == (40, 10)


def test_one_shared_limiter_per_key_pair_keyed_by_fingerprint() -> None:
    clock = FakeClock()
    fingerprint = key_fingerprint("key-A", "secret-A")
    assert "key-A" not in fingerprint and "secret-A" not in fingerprint and len(fingerprint) == 64
    first = shared_limiter(fingerprint, clock=clock, sleep=clock.sleep)
    assert shared_limiter(fingerprint, clock=clock, sleep=clock.sleep) is first
    assert shared_limiter(key_fingerprint("key-B", "secret-B"), clock=clock, sleep=clock.sleep) is not first
    assert key_fingerprint("key-A", "secret-A") == fingerprint
