"""Zoho Books' three caps per organisation (reference §11), as one ``Pacer`` and one semaphore.

- per minute: at most 100 requests in any 60 s (``SlidingWindow``); a 429 with code 44 holds every
  request for a whole window (Zoho sends no ``Retry-After``);
- concurrency: at most ``concurrency`` requests in flight (a semaphore around each send); a 429 with
  code 1070 holds requests for a moment;
- per day: the plan's cap. When we know it (``daily_limit``) we stop *before* Zoho refuses; when Zoho
  answers code 45 every later request in this process fails at once with ``DailyLimitReached``
  (no request is wasted on a cap that is already spent) for ``recheck`` seconds, then one request
  may probe again: when the day resets is not documented (the organisation's midnight, probably),
  so the block is short rather than a guess of the reset.

One :class:`OrgLimits` per (organisation, API host) per process (``shared_limits``), so every client
of one organisation shares the budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx

from connectors.common.ratelimit import SlidingWindow, shared_limiter
from connectors.zoho_books import settings
from connectors.zoho_books.errors import DailyLimitReached, body_of, next_reset

Clock = Callable[[], float]
Now = Callable[[], datetime]


class OrgLimits:
    """The pacer of one organisation: per-minute window, daily count, concurrency slots."""

    def __init__(self, *, per_minute: int = settings.REQUESTS_PER_MINUTE, daily_limit: int = 0,
                 concurrency: int = settings.CONCURRENCY, recheck: float = settings.DAILY_CAP_RECHECK_SECONDS,
                 clock: Clock = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, now: Now = lambda: datetime.now(UTC)) -> None:
        self.window = SlidingWindow(per_minute, 60.0, padding=0.5, default_retry_after=settings.PER_MINUTE_WAIT_SECONDS,
                                    clock=clock, sleep=sleep) if per_minute > 0 else None
        self.daily_limit, self.recheck = daily_limit, recheck
        self.slots = threading.BoundedSemaphore(max(1, concurrency))
        self._clock, self._now = clock, now
        self._lock = threading.Lock()
        self._day: date | None = None
        self.sent_today = 0
        self.blocked_until: datetime | None = None

    def __repr__(self) -> str:
        return f"OrgLimits(window={self.window!r}, sent_today={self.sent_today}, daily_limit={self.daily_limit})"

    def before_request(self, request: httpx.Request | None = None) -> None:
        """Refuse when today's cap is spent; else wait for the per-minute window and count the request."""
        with self._lock:
            self._check_day()
        if self.window is not None:
            self.window.before_request(request)
        with self._lock:
            self._check_day()
            self.sent_today += 1

    def after_response(self, response: httpx.Response) -> None:
        """Learn from a 429: code 45 closes the day, 1070 pauses briefly, anything else a whole window."""
        if response.status_code != 429:
            return
        code = (body_of(response) or {}).get("code")
        if code == settings.CODE_DAILY_CAP:
            with self._lock:
                now = self._now()
                self.blocked_until = min(next_reset(now), now + timedelta(seconds=self.recheck))
            return
        if self.window is not None:
            self.window.after_response(response)
            if code == settings.CODE_CONCURRENCY:
                with self.window._lock:
                    self.window.resume_at = self._clock() + settings.CONCURRENCY_WAIT_SECONDS

    def _check_day(self) -> None:
        now = self._now()
        if self._day != now.date():
            self._day, self.sent_today = now.date(), 0
        if self.blocked_until is not None and now >= self.blocked_until:
            self.blocked_until = None
        if self.blocked_until is not None:
            raise DailyLimitReached("the organisation's daily API cap is spent (Zoho code 45)",
                                    resume_at=self.blocked_until, system=settings.SYSTEM)
        if self.daily_limit and self.sent_today >= self.daily_limit:
            raise DailyLimitReached(f"{self.sent_today} requests sent today: the daily cap of {self.daily_limit}",
                                    resume_at=next_reset(now), system=settings.SYSTEM)


def shared_limits(organization_id: str, host: str, factory: Callable[[], OrgLimits], *,
                  scope: object = ()) -> OrgLimits:
    """The process-wide :class:`OrgLimits` of one organisation on one API host."""
    return shared_limiter("zoho_books", organization_id, host, factory, scope=scope)
