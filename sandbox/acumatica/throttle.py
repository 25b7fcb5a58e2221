"""The licence's request limits, as the Integration Development Guide describes them
("License Restrictions for API Users"):

- Every API request except sign-out enters one queue. At most `concurrent_requests` run at once;
  the rest wait.
- Once the requests processed in the past window reach half of `requests_per_minute`, a request is
  delayed by (time left until a window has passed since the first of them) / (requests left in
  the limit); with none left it waits for the window to move.
- A request is declined (429) when more than `queue_limit` (20) are already waiting, or when it
  would wait longer than `max_wait_seconds` (10 minutes). Declined requests do not count.

Time here is the real monotonic clock (delays are real waits); `window_seconds` (60) may be
shortened so a test sees the same behaviour in a second.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sandbox.acumatica.errors import declined
from sandbox.acumatica.sessions import Licence


class RequestGate:
    def __init__(self, licence: Licence) -> None:
        self.licence = licence
        self.processed: deque[float] = deque()
        self.waiting = 0
        self.running = 0
        self.delayed = 0
        self.declined = 0
        self._turn = asyncio.Condition()

    def _prune(self, now: float) -> None:
        while self.processed and self.processed[0] <= now - self.licence.window_seconds:
            self.processed.popleft()

    def _delay(self, now: float) -> float:
        limit = self.licence.requests_per_minute
        self._prune(now)
        if not limit or len(self.processed) < limit / 2:
            return 0.0
        left_in_window = self.processed[0] + self.licence.window_seconds - now
        remaining = limit - len(self.processed)
        return max(left_in_window, 0.0) / remaining if remaining > 0 else max(left_in_window, 0.001)

    def _full(self) -> bool:
        cap = self.licence.concurrent_requests
        return cap is not None and self.running >= cap

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold one processing slot for the request, or raise the 429 answer."""
        started = time.monotonic()
        delay = self._delay(started)
        if delay > 0 or self._full():
            if self.waiting >= self.licence.queue_limit:
                self.declined += 1
                raise declined()
            await self._wait(started, delay)
        self.running += 1
        self.processed.append(time.monotonic())
        try:
            yield
        finally:
            self.running -= 1
            async with self._turn:
                self._turn.notify_all()

    async def _next_turn(self) -> None:
        async with self._turn:
            try:
                await asyncio.wait_for(self._turn.wait(), timeout=1.0)
            except TimeoutError:
                pass

    async def _wait(self, started: float, delay: float) -> None:
        self.waiting += 1
        self.delayed += 1
        try:
            while delay > 0 or self._full():
                if time.monotonic() - started + delay > self.licence.max_wait_seconds:
                    self.declined += 1
                    raise declined()
                if delay > 0:
                    await asyncio.sleep(delay)
                    limit = self.licence.requests_per_minute or 0
                    self._prune(time.monotonic())
                    delay = 0.0 if len(self.processed) < limit else self._delay(time.monotonic())
                else:
                    await self._next_turn()
        finally:
            self.waiting -= 1
