"""Per-endpoint token buckets with Walmart's `x-current-token-count` / `x-next-replenish-time` headers.

Reference §10: each API has its own bucket per seller; tokens replenish gradually ("if 20 calls are
available every hour, 1 call will be available every 3 minutes" — developer.walmart.com rate-limit
pages); an empty bucket answers 429 `REQUEST_THRESHOLD_VIOLATED`. `x-next-replenish-time` is epoch
milliseconds (public clients parse it so, e.g. values like 1781189744550). Requests refused with 429
take no token. Buckets start full.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.walmart.clock import Clock, epoch_ms


@dataclass(frozen=True)
class Limit:
    """`capacity` calls, refilled evenly over `per_seconds`."""

    capacity: int
    per_seconds: float

    @property
    def interval(self) -> float:
        """Seconds between two replenished tokens."""
        return self.per_seconds / self.capacity


# Assumed allotments ([3p]/[unverified], reference §10: orders GET ~5,000/min, ack/ship/cancel ~60/min;
# feed submissions ~10/hour per feed type). Keys are bucket names (see `bucket_name`).
DEFAULT_LIMITS: dict[str, Limit] = {
    "token": Limit(60, 60),
    "orders:read": Limit(5000, 60),
    "orders:write": Limit(60, 60),
    "returns:read": Limit(100, 60),
    "returns:write": Limit(60, 60),
    "items:read": Limit(300, 60),
    "inventory:read": Limit(300, 60),
    "inventory:write": Limit(200, 60),
    "price:write": Limit(100, 60),
    "feeds:submit": Limit(10, 3600),
    "feeds:read": Limit(1000, 60),
    "report:read": Limit(60, 60),
    "webhooks": Limit(60, 60),  # [unverified]: no published allotment for the Notifications API
}


@dataclass(frozen=True)
class Decision:
    """One request against a bucket, ready to become headers."""

    allowed: bool
    tokens_left: int
    next_replenish: datetime

    def headers(self) -> dict[str, str]:
        """The two headers every limited answer carries."""
        return {"x-current-token-count": str(self.tokens_left),
                "x-next-replenish-time": str(epoch_ms(self.next_replenish))}


class _Bucket:
    def __init__(self, limit: Limit, now: datetime) -> None:
        self.limit, self.tokens, self.stamp = limit, float(limit.capacity), now

    def take(self, now: datetime) -> Decision:
        elapsed = max(0.0, (now - self.stamp).total_seconds())
        self.tokens = min(float(self.limit.capacity), self.tokens + elapsed / self.limit.interval)
        self.stamp = now
        allowed = self.tokens >= 1
        if allowed:
            self.tokens -= 1
        missing = 1 - (self.tokens - math.floor(self.tokens)) if self.tokens < self.limit.capacity else 0
        wait = missing * self.limit.interval if missing else self.limit.interval
        return Decision(allowed, math.floor(self.tokens), now + timedelta(seconds=wait))


class Buckets:
    """The seller's buckets, one per bucket name; `enabled=False` turns limiting off (benches)."""

    def __init__(self, clock: Clock, limits: dict[str, Limit] | None = None, *, enabled: bool = True) -> None:
        self.clock = clock
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.enabled = enabled
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, name: str) -> Decision | None:
        """Spend one token of bucket `name` (limit: `name`, else its prefix before the last `:`);
        None when limiting is off or the bucket is unlimited."""
        limit = self.limits.get(name) or self.limits.get(name.rsplit(":", 1)[0])
        if not self.enabled or limit is None:
            return None
        now = self.clock.now()
        with self._lock:
            bucket = self._buckets.setdefault(name, _Bucket(limit, now))
            return bucket.take(now)

    def configure(self, *, enabled: bool | None = None, limits: dict[str, Limit] | None = None) -> None:
        """Switch limiting on/off or replace some limits (their buckets start full again)."""
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            for name, limit in (limits or {}).items():
                self.limits[name] = limit
                self._buckets.pop(name, None)

    def snapshot(self) -> dict[str, object]:
        """Limits and current token counts, for the control plane."""
        with self._lock:
            return {"enabled": self.enabled,
                    "limits": {k: {"capacity": v.capacity, "per_seconds": v.per_seconds}
                               for k, v in self.limits.items()},
                    "tokens": {k: math.floor(b.tokens) for k, b in self._buckets.items()}}
