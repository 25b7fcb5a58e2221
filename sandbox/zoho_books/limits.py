"""Per-organisation API limits (reference §11), each with its own 429 code.

- Concurrency: more than `concurrency` requests in flight for one organisation → 429 code 1070
  (5 on the Free plan, 10 on paid plans).
- Per minute: more than `per_minute` (100) admitted requests in the last 60 seconds → 429 code 44.
  Zoho's window shape is undocumented; a sliding 60-second window is never more lenient than a
  fixed one. `per_minute=0` switches it off (for benches).
- Per day: more than the plan's daily calls on one calendar day of the organisation's time zone →
  429 code 45, "…maximum call rate limit of N." (when the day resets is undocumented; we assume
  local midnight). Refused requests use up no budget. No `Retry-After` header is sent.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field

from sandbox.zoho_books.clock import Clock
from sandbox.zoho_books.errors import CONCURRENCY_MESSAGE, PER_MINUTE_MESSAGE, BooksError
from sandbox.zoho_books.org import DAILY_BY_PLAN, Organization

WINDOW_SECONDS = 60.0


@dataclass
class OrgLimits:
    per_minute: int = 100
    daily: int | None = None            # None: the plan's
    concurrency: int | None = None      # None: the plan's
    recent: deque[float] = field(default_factory=deque)
    day: str = ""
    used_today: int = 0
    in_flight: int = 0


class Limiter:
    """Admits or refuses each API request of an organisation; counts what it sees."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.orgs: dict[str, OrgLimits] = {}
        self.requests: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def of(self, org: Organization) -> OrgLimits:
        """The limits record of `org` (created on first use)."""
        return self.orgs.setdefault(org.organization_id, OrgLimits())

    def configure(self, org: Organization, **settings: int | None) -> dict[str, object]:
        """Change `per_minute`, `daily`, `concurrency` (None: back to the plan's); the settings now."""
        with self.lock:
            limits = self.of(org)
            for name, value in settings.items():
                if value is not None and (not isinstance(value, int) or value < 0):
                    raise ValueError(f"{name} must be a whole number >= 0 or null")
                setattr(limits, name, value)
            return self.settings(org)

    def settings(self, org: Organization) -> dict[str, object]:
        """Effective limits and usage of `org`."""
        limits = self.of(org)
        return {"per_minute": limits.per_minute, "daily": self._daily(org, limits),
                "concurrency": self._concurrency(org, limits), "used_today": limits.used_today,
                "in_flight": limits.in_flight, "plan": org.plan}

    @staticmethod
    def _daily(org: Organization, limits: OrgLimits) -> int:
        return DAILY_BY_PLAN.get(org.plan, 1000) if limits.daily is None else limits.daily

    @staticmethod
    def _concurrency(org: Organization, limits: OrgLimits) -> int:
        return (5 if org.plan == "free" else 10) if limits.concurrency is None else limits.concurrency

    def admit(self, org: Organization) -> BooksError | None:
        """None and one more in flight, or the 429 that refuses this request."""
        with self.lock:
            limits = self.of(org)
            self.requests[org.organization_id] += 1
            refusal = self._check(org, limits)
            if refusal is not None:
                self.refused[str(refusal.code)] += 1
                return refusal
            limits.in_flight += 1
            limits.recent.append(self.clock.monotonic())
            limits.used_today += 1
            return None

    def _check(self, org: Organization, limits: OrgLimits) -> BooksError | None:
        cap = self._concurrency(org, limits)
        if cap and limits.in_flight >= cap:
            return BooksError(429, 1070, CONCURRENCY_MESSAGE)
        now = self.clock.monotonic()
        while limits.recent and now - limits.recent[0] >= WINDOW_SECONDS:
            limits.recent.popleft()
        if limits.per_minute and len(limits.recent) >= limits.per_minute:
            return BooksError(429, 44, PER_MINUTE_MESSAGE)
        today = org.today()
        if limits.day != today:
            limits.day, limits.used_today = today, 0
        daily = self._daily(org, limits)
        if daily and limits.used_today >= daily:
            return BooksError(429, 45, f"The API call for this organization has exceeded the maximum call rate "
                                       f"limit of {daily}.")
        return None

    def release(self, org: Organization) -> None:
        """One admitted request of `org` finished."""
        with self.lock:
            self.of(org).in_flight -= 1
