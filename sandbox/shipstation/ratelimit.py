"""Fixed-window rate limiting per API key, with ShipStation's `X-Rate-Limit-*` headers (§1.2).

A key's window opens at its first request and lasts `window_seconds`; the next request after it
closes opens a new one. Requests refused with 429 do not use up budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Outcome of one request against the limiter, ready to become headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """The three headers every limited response carries."""
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_seconds),
        }


class FixedWindowLimiter:
    """`limit` requests per `window_seconds` per key; `clock` is monotonic seconds."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> Decision:
        """Count one request for `key` if budget remains; say whether it may proceed."""
        now = self._clock()
        started, used = self._windows.get(key, (now, 0))
        if now - started >= self.window_seconds:
            started, used = now, 0
        allowed = used < self.limit
        if allowed:
            used += 1
        self._windows[key] = (started, used)
        reset = max(0, math.ceil(started + self.window_seconds - now))
        return Decision(allowed, self.limit, self.limit - used, reset)
