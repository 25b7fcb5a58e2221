"""Pace V1 calls from the ``X-Rate-Limit-*`` headers so we slow down *before* a 429 (§1.2, §6.9).

Every V1 response says how many calls the key pair has left in the current window and how many
seconds until it resets. The budget is shared by every tool on the same key pair, so the headers are
the truth and nothing is hard-coded (the docs say 40/min while their own header example shows 60).
The common :class:`~connectors.common.ratelimit.HeaderWindowLimiter` does the work; this module only
sets ShipStation's reserve and padding (Reset + 1 s) and keys the shared limiter by key pair and host.
Separate processes (Dagster step workers) each keep their own limiter and still stay in line because
they read the same server-side headers.
"""

from __future__ import annotations

import time

from connectors.common.auth import sha256_fingerprint
from connectors.common.ratelimit import HeaderWindowLimiter
from connectors.common.ratelimit import shared_limiter as common_shared_limiter
from connectors.common.ratelimit.limiters import Clock, Sleep
from connectors.shipstation import settings


class RateLimiter(HeaderWindowLimiter):
    """The V1 limiter: ``X-Rate-Limit-*`` headers with ShipStation's reserve, padding and default window."""

    def __init__(
        self,
        *,
        reserve: int = settings.RATE_LIMIT_RESERVE,
        padding: float = settings.RESET_PADDING_SECONDS,
        default_window: float = settings.RATE_LIMIT_WINDOW_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(reserve=reserve, padding=padding, default_window=default_window, clock=clock, sleep=sleep)


def key_fingerprint(api_key: str, api_secret: str) -> str:
    """A SHA-256 hex fingerprint of a key pair: safe to log, store and use as a dict key."""
    return sha256_fingerprint(api_key, api_secret)


def shared_limiter(
    fingerprint: str, *, host: str = settings.V1_BASE_URL, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
) -> RateLimiter:
    """The process-wide limiter for one key pair on one host (per clock/sleep pair, so test clocks stay apart)."""
    factory = lambda: RateLimiter(clock=clock, sleep=sleep)  # noqa: E731
    return common_shared_limiter("shipstation-v1", fingerprint, host, factory, scope=(clock, sleep))
