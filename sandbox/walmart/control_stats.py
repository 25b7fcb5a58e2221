"""Counters and queued faults shared by the API gate and the control plane."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    """An injected answer: a 5xx, or a 429 as if the bucket were empty; `endpoint` None = any."""

    status: int
    endpoint: str | None = None


class Controls:
    def __init__(self) -> None:
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero the counters (queued faults stay queued)."""
        with self._lock:
            self.requests = 0
            self.throttled = 0
            self.token_requests = 0
            self.tokens_issued = 0
            self.feeds_submitted: Counter[str] = Counter()
            self.by_endpoint: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()

    def record(self, endpoint: str, status: int) -> None:
        """Count one API request (token requests included) and its answer."""
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1
            self.by_status[status] += 1
            self.throttled += status == 429

    def record_token(self, issued: bool) -> None:
        with self._lock:
            self.token_requests += 1
            self.tokens_issued += issued

    def record_feed(self, feed_type: str) -> None:
        with self._lock:
            self.feeds_submitted[feed_type] += 1

    def queue(self, status: int, count: int, endpoint: str | None = None) -> None:
        """The next `count` authenticated API requests (to `endpoint`, if given) answer `status`."""
        with self._lock:
            self._faults.extend([Fault(status, endpoint)] * count)

    def take(self, endpoint: str) -> Fault | None:
        """The first queued fault that applies to `endpoint`, removed from the queue."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (None, endpoint):
                    self._faults.remove(fault)
                    return fault
        return None

    def snapshot(self) -> dict[str, Any]:
        """The stats document."""
        with self._lock:
            return {"requests": self.requests, "by_endpoint": dict(self.by_endpoint),
                    "by_status": {str(k): v for k, v in self.by_status.items()}, "throttled": self.throttled,
                    "token_requests": self.token_requests, "tokens_issued": self.tokens_issued,
                    "feeds_submitted": dict(self.feeds_submitted), "faults_pending": len(self._faults)}
