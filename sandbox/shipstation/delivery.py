"""Late, lossy webhook delivery, as ShipStation V1 does it ("within a few minutes", no retries known; §4).

Each event fans out to the hooks subscribed at the moment it happens. Every delivery gets a delay
drawn from `[delay_min, delay_max]` seconds and is dropped with probability `drop_rate`; both draws
come from one seeded `random.Random`, in event order, so a test replays exactly. A background
thread POSTs `{"resource_url", "resource_type"}` as JSON, unsigned, once: a non-2xx answer or a
network error is logged as `failed` and never retried. The thread starts with the first delivery
and stops on `close()` (the app's lifespan shutdown); undelivered entries stay `pending`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sandbox.shipstation.webhooks import Event, WebhookRegistry

Record = dict[str, Any]
POST_TIMEOUT = 5.0


@dataclass
class Delivery:
    """One POST of one event to one hook, and what became of it."""

    id: int
    webhook_id: int
    resource_type: str
    resource_url: str
    target: str
    due_at: datetime
    drop: bool
    outcome: str = "pending"
    status: int | None = None
    error: str | None = None
    done_at: datetime | None = None
    due: float = field(default=0.0, repr=False)
    event: Any = field(default=None, repr=False)
    hook: Record = field(default_factory=dict, repr=False)

    def public(self) -> Record:
        """The log entry the control plane shows."""
        return {"id": self.id, "webhook_id": self.webhook_id, "resource_type": self.resource_type,
                "resource_url": self.resource_url, "target": self.target, "due_at": self.due_at.isoformat(),
                "outcome": self.outcome, "status": self.status, "error": self.error,
                "done_at": None if self.done_at is None else self.done_at.isoformat()}


class Dispatcher:
    """Turns state events into scheduled deliveries and makes them from a background thread."""

    def __init__(self, hooks: WebhookRegistry, *, base_url: str | None = None, delay: tuple[float, float] = (1.0, 4.0),
                 drop_rate: float = 0.1, seed: int | None = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.hooks = hooks
        self.base_url = base_url
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []
        self._log: list[Delivery] = []
        self._ids = itertools.count(1)
        self._busy = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.delay_min, self.delay_max, self.drop_rate = 1.0, 4.0, 0.1
        self.rng = random.Random(seed)
        self.configure(delay_min=delay[0], delay_max=delay[1], drop_rate=drop_rate)

    def configure(self, *, delay_min: float | None = None, delay_max: float | None = None,
                  drop_rate: float | None = None, seed: int | None = None) -> Record:
        """Change delays, drop rate or reseed the RNG (None keeps a setting); ValueError if out of range."""
        low = self.delay_min if delay_min is None else float(delay_min)
        high = self.delay_max if delay_max is None else float(delay_max)
        rate = self.drop_rate if drop_rate is None else float(drop_rate)
        if not 0 <= low <= high or not 0 <= rate <= 1:
            raise ValueError("need 0 <= delay_min <= delay_max and 0 <= drop_rate <= 1")
        with self._cond:
            self.delay_min, self.delay_max, self.drop_rate = low, high, rate
            if seed is not None:
                self.rng = random.Random(seed)
        return self.settings()

    def settings(self) -> Record:
        """Current delay window and drop rate."""
        return {"delay_min": self.delay_min, "delay_max": self.delay_max, "drop_rate": self.drop_rate}

    def publish(self, event: Event) -> None:
        """Schedule one delivery per subscribed hook (a state listener; cheap, never blocks on HTTP)."""
        targets = self.hooks.targets(event)
        if not targets:
            return
        url = event.resource_url(self.base_url or "http://127.0.0.1")
        with self._cond:
            for hook in targets:
                self._schedule(hook, event, url)
            self._start()
            self._cond.notify_all()

    def _schedule(self, hook: Record, event: Event, url: str) -> None:
        delay = self.rng.uniform(self.delay_min, self.delay_max)
        drop = self.rng.random() < self.drop_rate
        due = self._clock() + delay
        webhook_id, target = self.address(hook)
        entry = Delivery(next(self._ids), webhook_id, event.resource_type, url, target,
                         datetime.now(UTC) + timedelta(seconds=delay), drop, due=due, event=event, hook=hook)
        self._log.append(entry)
        heapq.heappush(self._queue, (due, entry.id, entry))

    def address(self, hook: Record) -> tuple[Any, str]:
        """A hook's id and target URL (V1 hooks: `WebHookID`, `Url`)."""
        return hook["WebHookID"], hook["Url"]

    def post(self, client: httpx.Client, entry: Delivery) -> httpx.Response:
        """Send one delivery: V1 posts `{"resource_url", "resource_type"}` as JSON, unsigned."""
        payload = {"resource_url": entry.resource_url, "resource_type": entry.resource_type}
        return client.post(entry.target, json=payload)

    def _start(self) -> None:
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._run, name="shipstation-webhooks", daemon=True)
            self._thread.start()

    def log(self) -> list[Record]:
        """Every scheduled delivery so far, oldest first."""
        with self._cond:
            return [entry.public() for entry in self._log]

    def flush(self, timeout: float = 30.0) -> list[Record]:
        """Make every pending delivery due now (drops still drop) and wait until all are done."""
        deadline = time.monotonic() + timeout
        with self._cond:
            now = self._clock()
            self._queue = [(now, n, entry) for _, n, entry in self._queue]
            for _, _, entry in self._queue:
                entry.due, entry.due_at = now, datetime.now(UTC)
            heapq.heapify(self._queue)
            self._cond.notify_all()
            while (self._queue or self._busy) and self._thread is not None and not self._stopped:
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    break
        return self.log()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread; pending deliveries are abandoned."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=POST_TIMEOUT) as client:
            while (due := self._next_due()) is not None:
                for entry in due:
                    self._deliver(client, entry)
                with self._cond:
                    self._busy -= len(due)
                    self._cond.notify_all()

    def _next_due(self) -> list[Delivery] | None:
        with self._cond:
            while not self._stopped:
                now = self._clock()
                if self._queue and self._queue[0][0] <= now:
                    due = []
                    while self._queue and self._queue[0][0] <= now:
                        due.append(heapq.heappop(self._queue)[2])
                    self._busy += len(due)
                    return due
                self._cond.wait(timeout=None if not self._queue else self._queue[0][0] - now)
            return None

    def _deliver(self, client: httpx.Client, entry: Delivery) -> None:
        outcome, status, error = "dropped", None, None
        if not entry.drop:
            try:
                answer = self.post(client, entry)
                status = answer.status_code
                outcome = "delivered" if 200 <= status < 300 else "failed"
            except httpx.HTTPError as exc:
                outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        with self._cond:
            entry.outcome, entry.status, entry.error, entry.done_at = outcome, status, error, datetime.now(UTC)
