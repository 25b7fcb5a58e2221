"""The common retry: which errors are retried, how long it waits, when it gives up."""

import pytest

from connectors.common.errors import (
    AuthError,
    BadRequest,
    ConnectorError,
    FatalError,
    NotFound,
    RateLimited,
    RecordError,
    RetryableError,
    ServerError,
    TransportError,
)
from connectors.common.retry import RetryPolicy, backoff_delay, call_with_retry, retrying


class Flaky:
    """Raises the given errors in turn, then returns ``"ok"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def server_error() -> ServerError:
    return ServerError("boom", system="test", status=503)


def test_retries_retryable_errors_then_succeeds() -> None:
    sleeps: list[float] = []
    fn = Flaky(server_error(), TransportError("reset", system="test"))
    assert retrying(5, 1.0, 60.0, sleep=sleeps.append, rng=lambda: 0.5)(fn) == "ok"
    assert fn.calls == 3
    assert sleeps == [0.75, 1.5]  # exponential: 1×(½+½·½), 2×(½+½·½)


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    sleeps: list[float] = []
    fn = Flaky(*[server_error() for _ in range(10)])
    with pytest.raises(ServerError) as caught:
        retrying(4, 1.0, 60.0, sleep=sleeps.append)(fn)
    assert caught.value.status == 503
    assert fn.calls == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    "error",
    [
        BadRequest("no", system="test", status=400),
        AuthError("no", system="test", status=401),
        NotFound("no", system="test", status=404),
        RecordError("test", 7, "unitPrice", "not a number"),
        ValueError("a bug, not a network problem"),
    ],
)
def test_fatal_errors_are_not_retried(error: Exception) -> None:
    sleeps: list[float] = []
    fn = Flaky(error)
    with pytest.raises(type(error)):
        retrying(5, sleep=sleeps.append)(fn)
    assert fn.calls == 1
    assert sleeps == []


def test_rate_limited_waits_at_least_retry_after_even_beyond_max_delay() -> None:
    sleeps: list[float] = []
    fn = Flaky(RateLimited("slow down", system="test", status=429, retry_after=90.0))
    assert retrying(3, 1.0, 10.0, sleep=sleeps.append, rng=lambda: 1.0)(fn) == "ok"
    assert sleeps == [90.0]


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    low = [backoff_delay(n, 1.0, 10.0, lambda: 0.0) for n in range(1, 7)]
    high = [backoff_delay(n, 1.0, 10.0, lambda: 1.0) for n in range(1, 7)]
    assert low == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert high == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_call_with_retry_uses_the_policy() -> None:
    sleeps: list[float] = []
    fn = Flaky(server_error(), server_error())
    assert call_with_retry(fn, RetryPolicy(3, 2.0, 60.0), sleep=sleeps.append, rng=lambda: 0.0) == "ok"
    assert sleeps == [1.0, 2.0]


def test_retrying_as_a_loop() -> None:
    fn = Flaky(server_error())
    for attempt in retrying(2, sleep=lambda _: None):
        with attempt:
            result = fn()
    assert result == "ok"


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1)


def test_error_tree() -> None:
    for retryable in (RateLimited, ServerError, TransportError):
        assert issubclass(retryable, RetryableError)
    for fatal in (AuthError, NotFound, BadRequest, RecordError):
        assert issubclass(fatal, FatalError)
        assert not issubclass(fatal, RetryableError)
    assert issubclass(RetryableError, ConnectorError) and issubclass(FatalError, ConnectorError)


def test_retry_on_narrows_what_is_retried() -> None:
    sleeps: list[float] = []
    only_429 = retrying(5, 0.0, 0.0, sleep=sleeps.append, retry_on=RateLimited)
    flaky = Flaky(RateLimited("slow down", retry_after=2.0, system="t"))
    assert only_429(flaky) == "ok" and flaky.calls == 2 and sleeps == [2.0]
    unsafe = Flaky(ServerError("boom", system="t"))
    with pytest.raises(ServerError):
        only_429(unsafe)
    assert unsafe.calls == 1


def test_retry_on_accepts_a_predicate() -> None:
    policy = RetryPolicy(3, 0.0, 0.0)
    flaky = Flaky(ServerError("a", system="t"), ServerError("b", system="t"))
    retry_on = lambda error: isinstance(error, ServerError)  # noqa: E731
    assert call_with_retry(flaky, policy, sleep=lambda _: None, retry_on=retry_on) == "ok" and flaky.calls == 3
