"""One budget per endpoint, learned from the server's token headers (Walmart: §10 of its reference).

Each response may say how many tokens that endpoint has left (``x-current-token-count``) and when it
refills (``x-next-replenish-time``: epoch ms, epoch s, seconds, or a date). An endpoint with no tokens
left waits for its refill; a 429 blocks only that endpoint until the refill (or ``Retry-After``).
Endpoints we know nothing about yet go through the ``default`` pacer (e.g. a :class:`TokenBucket`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from connectors.common.http import Pacer, retry_after_seconds
from connectors.common.ratelimit.limiters import DEFAULT_RETRY_AFTER, Clock, Sleep, header_number

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


def endpoint_key(request: httpx.Request) -> str:
    """``"METHOD /path"`` with all-digit path segments as ``{id}`` (one budget per API, not per record)."""
    return f"{request.method} {_ID_SEGMENT.sub('/{id}', request.url.path)}"


def seconds_until(value: str | None, wall: Clock) -> float | None:
    """Seconds from now until ``value`` (epoch ms, epoch s, plain seconds, HTTP or ISO date); None if unreadable."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number > 1e11:
            return max(0.0, number / 1000 - wall())
        return max(0.0, number - wall()) if number > 1e9 else max(0.0, number)
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            moment = parse(value.strip())
        except (TypeError, ValueError):
            continue
        if moment.tzinfo is not None:
            return max(0.0, moment.timestamp() - wall())
    return None


@dataclass
class _Budget:
    tokens: int | None = None  # None: unknown, let requests go
    replenish_at: float | None = None


class PerEndpointBuckets:
    """A ``Pacer`` keeping one token budget per endpoint from response headers, ``default`` until known."""

    def __init__(
        self,
        default: Pacer | None = None,
        *,
        key: Callable[[httpx.Request], str] = endpoint_key,
        count_header: str = "x-current-token-count",
        replenish_headers: Sequence[str] = ("x-next-replenish-time", "x-next-replenishment-time"),
        default_retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.default = default
        self._key = key
        self.count_header = count_header
        self.replenish_headers = tuple(replenish_headers)
        self.default_retry_after = default_retry_after
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._budgets: dict[str, _Budget] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PerEndpointBuckets(endpoints={sorted(self._budgets)})"

    def budget(self, key: str) -> tuple[int | None, float | None]:
        """``(tokens left, clock time of the next refill)`` known for one endpoint key."""
        with self._lock:
            known = self._budgets.get(key, _Budget())
            return known.tokens, known.replenish_at

    def before_request(self, request: httpx.Request | None = None) -> None:
        """Wait for this endpoint's refill when its tokens are spent; unknown endpoints use ``default``."""
        key = self._key(request) if request is not None else None
        while True:
            with self._lock:
                budget = self._budgets.get(key) if key is not None else None
                wait = self._wait_locked(budget) if budget is not None else 0.0
                if wait <= 0 and budget is not None and budget.tokens is not None:
                    budget.tokens -= 1
                    return
            if budget is None or (wait <= 0 and budget.tokens is None):
                if self.default is not None:
                    self.default.before_request(request)
                return
            self._sleep(wait)

    def after_response(self, response: httpx.Response) -> None:
        """Learn the endpoint's tokens and refill time; a 429 blocks the endpoint until the refill."""
        count = header_number(response.headers, self.count_header)
        refill = self._refill_seconds(response.headers)
        if response.status_code == 429:
            count = 0
            refill = refill if refill is not None else retry_after_seconds(response.headers, reset_header=None)
            refill = self.default_retry_after if refill is None else refill
        if count is None and refill is None:
            if self.default is not None:
                self.default.after_response(response)
            return
        with self._lock:
            budget = self._budgets.setdefault(self._key(response.request), _Budget())
            if count is not None:
                budget.tokens = int(count)
            if refill is not None:
                budget.replenish_at = self._clock() + refill

    def _refill_seconds(self, headers: Mapping[str, str]) -> float | None:
        for name in self.replenish_headers:
            seconds = seconds_until(headers.get(name), self._wall)
            if seconds is not None:
                return seconds
        return None

    def _wait_locked(self, budget: _Budget) -> float:
        now = self._clock()
        if budget.replenish_at is not None and now >= budget.replenish_at:
            budget.tokens, budget.replenish_at = None, None  # refilled: unknown until the next response
            return 0.0
        if budget.tokens is None or budget.tokens > 0:
            return 0.0
        if budget.replenish_at is None:
            budget.replenish_at = now + self.default_retry_after
        return budget.replenish_at - now
