"""Pace V1 calls from the ``X-Rate-Limit-*`` headers so we slow down *before* a 429 (§1.2, §6.9).

Every V1 response says how many calls the key pair has left in the current window
(``X-Rate-Limit-Remaining``) and how many seconds until it resets (``X-Rate-Limit-Reset``). The budget
is shared by every tool on the same key pair, so the headers are the truth and nothing is hard-coded:
the docs say 40/min while their own header example shows 60.

Rules:
- when ``remaining <= reserve`` the next request sleeps until the window resets (+ padding);
- after a 429 the window is known to be spent: nothing is sent until ``reset + padding`` has passed
  (the common retry then re-sends; see ``client.py``);
- one limiter per key pair per process (:func:`shared_limiter`), keyed by a SHA-256 fingerprint of the
  pair, never the key itself. Separate processes (Dagster step workers) each keep their own limiter
  and still stay in line because they read the same server-side headers.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping

import httpx

from connectors.shipstation import settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RateLimiter:
    """Thread-safe pacer for one key pair; implements the ``Pacer`` protocol of ``common.http``."""

    def __init__(
        self,
        *,
        reserve: int = settings.RATE_LIMIT_RESERVE,
        padding: float = settings.RESET_PADDING_SECONDS,
        default_window: float = settings.RATE_LIMIT_WINDOW_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.reserve = reserve
        self.padding = padding
        self.default_window = default_window
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.remaining: int | None = None  # None = unknown, treat as available
        self.resume_at: float | None = None  # clock time at which the current window resets

    def __repr__(self) -> str:
        return f"RateLimiter(limit={self.limit}, remaining={self.remaining}, resume_at={self.resume_at})"

    def before_request(self) -> None:
        """Block until a request may be sent, then count it against the window."""
        with self._lock:
            while (wait := self._wait_locked()) > 0:
                log.info("ShipStation rate limit: %s left, waiting %.1fs for the window to reset", self.remaining, wait)
                self._sleep(wait)
            if self.remaining is not None:
                self.remaining -= 1

    def after_response(self, response: httpx.Response) -> None:
        """Learn the window from a response's headers (a 429 marks the window spent)."""
        self.observe(response.headers, status=response.status_code)

    def observe(self, headers: Mapping[str, str], *, status: int = 200) -> None:
        """Record ``X-Rate-Limit-Limit/Remaining/Reset``; missing headers leave what we knew."""
        limit = _header_number(headers, "X-Rate-Limit-Limit")
        remaining = _header_number(headers, "X-Rate-Limit-Remaining")
        reset = _header_number(headers, "X-Rate-Limit-Reset")
        with self._lock:
            now = self._clock()
            if limit is not None:
                self.limit = int(limit)
            if status == 429:
                remaining = 0.0
            if remaining is not None:
                self.remaining = int(remaining)
                if reset is None and (self.resume_at is None or self.resume_at <= now):
                    reset = self.default_window
            if reset is not None:
                self.resume_at = now + reset + self.padding

    def wait_time(self) -> float:
        """Seconds the next request would have to wait now (0 if it may go)."""
        with self._lock:
            return self._wait_locked()

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


def key_fingerprint(api_key: str, api_secret: str) -> str:
    """A SHA-256 hex fingerprint of a key pair: safe to log, store and use as a dict key."""
    return hashlib.sha256(f"{api_key}:{api_secret}".encode()).hexdigest()


_registry: dict[tuple[str, Clock, Sleep], RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(fingerprint: str, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> RateLimiter:
    """The process-wide limiter for one key pair (per clock/sleep pair, so test clocks stay apart)."""
    with _registry_lock:
        key = (fingerprint, clock, sleep)
        if key not in _registry:
            _registry[key] = RateLimiter(clock=clock, sleep=sleep)
        return _registry[key]
