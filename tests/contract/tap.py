"""A real HTTP transport for contract tests: records when each request left and its answer came."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    sent: float
    received: float
    status: int
    headers: httpx.Headers


class Tap(httpx.BaseTransport):
    """Wraps `httpx.HTTPTransport`, records every exchange, and may act after each response."""

    def __init__(self, after: Callable[[Exchange], None] | None = None) -> None:
        self._inner = httpx.HTTPTransport()
        self.after = after
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = self._inner.handle_request(request)
        exchange = Exchange(request.method, request.url.path, sent, time.monotonic(), response.status_code,
                            response.headers)
        self.exchanges.append(exchange)
        if self.after is not None:
            self.after(exchange)
        return response

    def close(self) -> None:
        self._inner.close()
