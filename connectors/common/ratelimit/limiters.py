"""Rate limiters shared by every connector; each implements the ``Pacer`` protocol of ``common.http``.

- :class:`HeaderWindowLimiter`: the server counts (``X-Rate-Limit-Limit/Remaining/Reset``, names
  configurable) and we stop when only the reserve is left;
- :class:`TokenBucket`: ``rate`` tokens per ``per_seconds``, refilled smoothly, bursts up to ``capacity``;
- :class:`SlidingWindow`: at most ``limit`` requests in any ``window`` (strict, for fixed-window servers);
- :class:`PerEndpointBuckets`: one budget per endpoint learned from headers, a default pacer until then
  (``ratelimit/endpoints.py``).

All of them honour a 429: nothing is sent until its ``Retry-After`` has passed. All take injectable
``clock``/``sleep``, are thread-safe, and sleep while holding their lock so waiting callers queue up.
:func:`shared_limiter` hands out one limiter per (kind, key fingerprint, host) per process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import httpx

from connectors.common.http import retry_after_seconds

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
L = TypeVar("L")
DEFAULT_RETRY_AFTER = 60.0


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header as ``float``; ``None`` when missing or not a number."""
    value = headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def fingerprint(*parts: str) -> str:
    """SHA-256 hex of ``parts`` joined by ``:``: safe to log, store and use as a registry key."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


class _Pacer:
    """Lock, clock, sleep and the 429 hold (``Retry-After``) every limiter shares."""

    def __init__(self, *, default_retry_after: float, clock: Clock, sleep: Sleep) -> None:
        self.default_retry_after = default_retry_after
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.resume_at: float | None = None  # set by a 429: nothing goes before this clock time

    def before_request(self, request: httpx.Request | None = None) -> None:
        """Block until a request may be sent, then count it."""
        with self._lock:
            while (wait := self._wait_locked()) > 0:
                log.info("%s: waiting %.1fs before the next request", type(self).__name__, wait)
                self._sleep(wait)
            self._take_locked()

    def after_response(self, response: httpx.Response) -> None:
        """After a 429, hold every request until ``Retry-After`` (or the default) has passed."""
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers, reset_header=None)
            with self._lock:
                self.resume_at = self._clock() + (self.default_retry_after if wait is None else wait)

    def wait_time(self) -> float:
        """Seconds the next request would wait now (0 if it may go)."""
        with self._lock:
            return self._wait_locked()

    def _hold_locked(self) -> float:
        if self.resume_at is None:
            return 0.0
        wait = self.resume_at - self._clock()
        if wait <= 0:
            self.resume_at = None
        return max(0.0, wait)

    def _wait_locked(self) -> float:
        return self._hold_locked()

    def _take_locked(self) -> None:
        pass


class HeaderWindowLimiter(_Pacer):
    """Paces by the server's remaining-calls and reset headers so we slow down *before* a 429.

    When ``remaining <= reserve`` the next request sleeps until the window resets (+ ``padding``); a
    429 marks the window spent (its reset, or ``Retry-After``, says when to resume). Missing headers
    leave what we knew; a remaining count without a reset assumes ``default_window``.
    """

    def __init__(
        self,
        *,
        limit_header: str = "X-Rate-Limit-Limit",
        remaining_header: str = "X-Rate-Limit-Remaining",
        reset_header: str = "X-Rate-Limit-Reset",
        reserve: int = 2,
        padding: float = 1.0,
        default_window: float = 60.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(default_retry_after=default_window, clock=clock, sleep=sleep)
        self.headers = (limit_header, remaining_header, reset_header)
        self.reserve = reserve
        self.padding = padding
        self.default_window = default_window
        self.limit: int | None = None
        self.remaining: int | None = None  # None = unknown, treat as available

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self.limit}, remaining={self.remaining}, resume_at={self.resume_at})"

    def after_response(self, response: httpx.Response) -> None:
        """Learn the window from a response's headers (a 429 marks the window spent)."""
        self.observe(response.headers, status=response.status_code)

    def observe(self, headers: Mapping[str, str], *, status: int = 200) -> None:
        """Record limit, remaining and reset from ``headers``; ``status=429`` means nothing is left."""
        limit, remaining, reset = (header_number(headers, name) for name in self.headers)
        if status == 429:
            remaining = 0.0
            retry_after = retry_after_seconds(httpx.Headers(headers), reset_header=None)
            reset = retry_after if retry_after is not None else reset
        with self._lock:
            now = self._clock()
            if limit is not None:
                self.limit = int(limit)
            if remaining is not None:
                self.remaining = int(remaining)
                if reset is None and (self.resume_at is None or self.resume_at <= now):
                    reset = self.default_window
            if reset is not None:
                self.resume_at = now + reset + self.padding

    def _take_locked(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1

    def _effective_reserve(self) -> int:
        # Never hold back more than a tenth of the window, or a tiny limit would starve us.
        return self.reserve if self.limit is None else min(self.reserve, self.limit // 10)

    def _wait_locked(self) -> float:
        now = self._clock()
        if self.resume_at is not None and now >= self.resume_at:
            self.remaining, self.resume_at = None, None  # new window: budget unknown until next response
            return 0.0
        if self.remaining is None or self.remaining > self._effective_reserve():
            return 0.0
        if self.resume_at is None:
            self.resume_at = now + self.default_window
        return self.resume_at - now


class TokenBucket(_Pacer):
    """``rate`` requests per ``per_seconds``, refilled continuously; starts full with ``capacity`` tokens.

    A full bucket lets ``capacity`` (default ``rate``) requests go at once, so any one window may see
    up to ``capacity + rate`` requests; use :class:`SlidingWindow` where the server counts strictly.
    """

    def __init__(
        self,
        rate: float,
        per_seconds: float = 60.0,
        *,
        capacity: float | None = None,
        default_retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or per_seconds <= 0:
            raise ValueError("rate and per_seconds must be positive")
        super().__init__(default_retry_after=default_retry_after, clock=clock, sleep=sleep)
        self.rate, self.per_seconds = rate, per_seconds
        self.capacity = float(rate if capacity is None else capacity)
        self.tokens = self.capacity
        self._refilled_at = clock()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}/{self.per_seconds}s, tokens={self.tokens:.2f})"

    def _refill_locked(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._refilled_at) * self.rate / self.per_seconds)
        self._refilled_at = now

    def _wait_locked(self) -> float:
        self._refill_locked()
        missing = 1.0 - self.tokens
        shortfall = missing * self.per_seconds / self.rate if missing > 1e-9 else 0.0
        return max(self._hold_locked(), shortfall)

    def _take_locked(self) -> None:
        self.tokens -= 1.0


class SlidingWindow(_Pacer):
    """At most ``limit`` requests in any ``window + padding`` seconds (the padding absorbs network delay)."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        padding: float = 0.0,
        default_retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit and window must be positive")
        super().__init__(default_retry_after=default_retry_after, clock=clock, sleep=sleep)
        self.limit, self.span = limit, window + padding
        self.sent: deque[float] = deque()

    def __repr__(self) -> str:
        return f"SlidingWindow(limit={self.limit}, span={self.span}, in_window={len(self.sent)})"

    def _wait_locked(self) -> float:
        now = self._clock()
        while self.sent and self.sent[0] <= now - self.span:
            self.sent.popleft()
        wait = self._hold_locked()
        if len(self.sent) >= self.limit:
            wait = max(wait, self.sent[len(self.sent) - self.limit] + self.span - now)
        return wait

    def _take_locked(self) -> None:
        self.sent.append(self._clock())


_registry: dict[tuple[str, str, str, Hashable], Any] = {}
_registry_lock = threading.Lock()


def shared_limiter(kind: str, fingerprint: str, host: str, factory: Callable[[], L], *, scope: Hashable = ()) -> L:
    """The process-wide limiter of one ``kind`` for one key (by fingerprint, never the key) on one host.

    ``factory`` builds it the first time. ``scope`` separates limiters that must not meet, e.g. ones
    built on different test clocks (pass ``(clock, sleep)``).
    """
    key = (kind, fingerprint, host.rstrip("/").lower(), scope)
    with _registry_lock:
        if key not in _registry:
            _registry[key] = factory()
        return _registry[key]
