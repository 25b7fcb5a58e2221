"""The one place connectors retry, built on tenacity.

Only :class:`~connectors.common.errors.RetryableError` is retried. Waits grow exponentially with
"equal jitter" (half fixed, half random) so parallel callers spread out; a
:class:`~connectors.common.errors.RateLimited` error's ``retry_after`` is a floor on the wait, never
cut by ``max_delay`` — the server said how long to stay away.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import tenacity

from connectors.common.errors import RateLimited, RetryableError

T = TypeVar("T")
RetryOn: TypeAlias = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``max_attempts`` counts the first try."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")


def backoff_delay(attempt: int, base_delay: float, max_delay: float, rng: Callable[[], float]) -> float:
    """Wait before retry number ``attempt`` (1-based): between half and all of ``base·2^(attempt-1)``."""
    ceiling = min(max_delay, base_delay * 2 ** (attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


class _Wait(tenacity.wait.wait_base):
    def __init__(self, policy: RetryPolicy, rng: Callable[[], float]) -> None:
        self.policy = policy
        self.rng = rng

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        delay = backoff_delay(retry_state.attempt_number, self.policy.base_delay, self.policy.max_delay, self.rng)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, RateLimited):
            delay = max(delay, error.retry_after)
        return delay


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning("attempt %d failed (%s); retrying in %.1fs", retry_state.attempt_number, error, wait)


def retrying(
    max_attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    retry_on: RetryOn = RetryableError,
) -> tenacity.Retrying:
    """A fresh tenacity ``Retrying`` that retries what ``retry_on`` admits and re-raises the last error.

    ``retry_on`` is an exception type, a tuple of them, or a predicate on the raised exception; the
    default retries every ``RetryableError``. Narrow it for unsafe writes, e.g. ``retry_on=RateLimited``
    when a 5xx or timeout may already have applied the request. Use as ``retrying(...)(fn, *args)`` or
    ``for attempt in retrying(...): with attempt: ...``. ``sleep`` and ``rng`` are injectable.
    """
    policy = RetryPolicy(max_attempts, base_delay, max_delay)
    return tenacity.Retrying(
        retry=_retry_condition(retry_on),
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=_Wait(policy, rng),
        sleep=sleep,
        before_sleep=_log_retry,
        reraise=True,
    )


def _retry_condition(retry_on: RetryOn) -> tenacity.retry_base:
    if isinstance(retry_on, type | tuple):
        return tenacity.retry_if_exception_type(retry_on)
    return tenacity.retry_if_exception(retry_on)


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    retry_on: RetryOn = RetryableError,
) -> T:
    """Call ``fn`` under ``policy``, retrying what ``retry_on`` admits; return its result or raise its last error."""
    retryer = retrying(policy.max_attempts, policy.base_delay, policy.max_delay, sleep=sleep, rng=rng,
                       retry_on=retry_on)
    return retryer(fn)
